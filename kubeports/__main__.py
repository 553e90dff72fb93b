"""`python -m kubeports`: the same as the `kubeports` console script."""
import sys

from .cli import main

sys.exit(main())
