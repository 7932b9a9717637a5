"""python -m devworld.backupbot up|down|status"""

import sys

from devworld.backupbot import main

sys.exit(main())
