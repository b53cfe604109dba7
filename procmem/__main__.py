import sys

from procmem.cli import main

sys.exit(main())
