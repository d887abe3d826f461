"""List the presets: `./run.sh presets` (the same as `./run.sh train --list_presets`).

One line each: its report (A, B, ours or -), its epochs, the shorter epochs of
`./run.sh reproduce`'s cpu budget and what it is; `./run.sh train --preset=NAME` trains one.
"""

from tfgan_replica.cli import no_positional_arguments, run


def main(argv):
    no_positional_arguments(argv)
    from tfgan_replica import presets

    print(presets.listing())


def start():
    """`python -m tfgan_replica.cli.presets` and the `tfgan-presets` console script (setup.cfg)
    both start here."""
    run(main)


if __name__ == "__main__":
    start()
