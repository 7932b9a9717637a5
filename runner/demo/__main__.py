"""python -m runner.demo"""

import sys

from runner.demo import main

sys.exit(main())
