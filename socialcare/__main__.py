"""``python -m socialcare`` and the ``socialcare`` console script.

A command is a short process: the cyclic garbage collector only slows its imports (a tenth of its
start-up), so it is off while they load, and what they made is frozen out of later collections.
"""

import gc


def run() -> None:
    gc.disable()
    try:
        from socialcare.cli import run as run_cli
    finally:
        gc.freeze()
        gc.enable()
    run_cli()


if __name__ == "__main__":
    run()
