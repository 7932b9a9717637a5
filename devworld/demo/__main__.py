"""python -m devworld.demo"""

import sys

from devworld.demo import main

sys.exit(main())
