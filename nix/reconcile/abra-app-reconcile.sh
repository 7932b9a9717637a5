# shellcheck shell=bash
# abra-app-reconcile: converge one abra app on the local swarm; a no-op when it is right.
#
#   abra-app-reconcile --recipe R --domain D --env FILE [--version V]
#                      [--secret NAME:ENV_KEY]... [--generate NAME]...
#
# FILE holds KEY=VALUE lines that the app's .env must contain. --secret inserts the swarm
# secret NAME from $CREDENTIALS_DIRECTORY/NAME at a version named after its content
# (v + 8 hex of its sha256) and points ENV_KEY at it: a changed file is a new version, so
# rotating is replacing the file. --generate has abra make NAME once. The app is deployed
# when it is not running or anything above changed; otherwise nothing happens.
# Runs as a systemd oneshot on every boot and switch (nix/reconcile/default.nix).

die() {
  printf 'abra-app-reconcile: %s\n' "$*" >&2
  exit 1
}
say() { printf '%s: %s\n' "$domain" "$*" >&2; }

recipe='' domain='' envfile='' version=''
secrets=() generated=()
while [ "$#" -ge 2 ]; do
  case $1 in
    --recipe) recipe=$2 ;;
    --domain) domain=$2 ;;
    --env) envfile=$2 ;;
    --version) version=$2 ;;
    --secret) secrets+=("$2") ;;
    --generate) generated+=("$2") ;;
    *) die "unknown argument $1" ;;
  esac
  shift 2
done
if [ "$#" -ne 0 ] || [ -z "$recipe" ] || [ -z "$domain" ] || [ ! -r "$envfile" ]; then
  die "usage: --recipe R --domain D --env FILE [--version V] [--secret N:KEY]... [--generate N]..."
fi
: "${ABRA_DIR:?ABRA_DIR must name the abra state directory}"

server=default
stack=${domain//./_}
app_env=$ABRA_DIR/servers/$server/$domain.env
changed=0

# Preconditions: fail here, visibly, rather than half-way through a deploy.
state=$(docker info --format '{{.Swarm.LocalNodeState}}') || die "docker is not reachable"
[ "$state" = active ] || die "the swarm is not active (state: $state); see cc-ci-swarm-init"
for spec in "${secrets[@]}"; do
  src=${CREDENTIALS_DIRECTORY:-/nonexistent}/${spec%%:*}
  [ -s "$src" ] || die "secret ${spec%%:*} is missing or empty ($src): check its *File option"
done

# set_env KEY VALUE: make the app's .env hold KEY=VALUE exactly once.
set_env() {
  local key=$1 line="$1=$2"
  if grep -qxF -- "$line" "$app_env" && [ "$(grep -c "^$key=" "$app_env")" -eq 1 ]; then
    return 0
  fi
  if grep -q "^$key=" "$app_env"; then
    awk -v k="$key=" -v l="$line" 'index($0, k) == 1 { if (!done) print l; done = 1; next }
      { print }' "$app_env" >"$app_env.new"
    mv "$app_env.new" "$app_env"
  else
    # a file without a final newline would glue this line onto its last one
    [ -z "$(tail -c 1 "$app_env")" ] || printf '\n' >>"$app_env"
    printf '%s\n' "$line" >>"$app_env"
  fi
  say "set $key"
  changed=1
}

[ -d "$ABRA_DIR/servers/$server" ] || abra server add --local -n
if [ ! -f "$app_env" ]; then
  say "creating the app from recipe $recipe${version:+ $version}"
  abra app new "$recipe" ${version:+"$version"} --server "$server" --domain "$domain" -n
  [ -f "$app_env" ] || die "abra app new did not write $app_env"
  changed=1
fi

while IFS= read -r line || [ -n "$line" ]; do
  [ -n "$line" ] || continue
  set_env "${line%%=*}" "${line#*=}"
done <"$envfile"

for spec in "${secrets[@]}"; do
  name=${spec%%:*} key=${spec#*:}
  src=$CREDENTIALS_DIRECTORY/$name
  ver=v$(sha256sum <"$src" | cut -c 1-8)
  set_env "$key" "$ver"
  if ! docker secret inspect "${stack}_${name}_${ver}" >/dev/null 2>&1; then
    say "inserting secret $name $ver"
    abra app secret insert "$domain" "$name" "$ver" "$src" -f -n
    changed=1
  fi
done

for name in "${generated[@]}"; do
  key=SECRET_$(printf '%s' "$name" | tr '[:lower:]' '[:upper:]')_VERSION
  ver=$(sed -n "s/^$key=//p" "$app_env" | tail -n 1)
  ver=${ver%%[[:space:]#]*}
  ver=${ver:-v1}
  if ! docker secret inspect "${stack}_${name}_${ver}" >/dev/null 2>&1; then
    say "generating secret $name $ver"
    # -m prints the value as JSON: it goes nowhere, so it never reaches the journal
    abra app secret generate "$domain" "$name" "$ver" -m -n >/dev/null
    changed=1
  fi
done

if [ "$changed" -eq 0 ] && docker stack ls --format '{{.Name}}' | grep -qxF "$stack"; then
  say "converged, nothing to do"
  exit 0
fi
say "deploying"
abra app deploy "$domain" -f -D -n
docker stack ls --format '{{.Name}}' | grep -qxF "$stack" || die "stack $stack is not running after deploy"
say "deployed"
