"""Run every benchmark in this folder (``make bench``): each ``bench_*.py`` exposes ``main()``.

Peers (choix, JAX + optax) come from the ``bench`` extra. Tables are printed, never asserted:
speed is shown as ratios measured in one run, not as timed tests.
"""

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    names = argv if argv else sorted(p.stem for p in HERE.glob("bench_*.py"))
    for name in names:
        spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"\n=== {name} ===", flush=True)
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
