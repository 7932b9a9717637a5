#!/bin/sh
# backupbot hooks: dump the database into the volume before a backup, load it after a restore.
set -eu
BACKUP_FILE=/var/lib/postgresql/data/backup.sql

backup() {
  pg_dump -U "$POSTGRES_USER" --clean --if-exists "$POSTGRES_DB" >"$BACKUP_FILE"
}

restore() {
  psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -v ON_ERROR_STOP=1 <"$BACKUP_FILE"
}

"$@"
