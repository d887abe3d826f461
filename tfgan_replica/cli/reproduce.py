"""Re-run both reports: `./run.sh reproduce [--presets=a,b] [--budget=cpu]`.

Trains and evaluates each preset, skips those already finished, and writes
results/results.json, results/README.md and results/figures/. `--ablations=NAME`
runs a measured search instead (results/ablations.md); `--seeds=0,1,2` repeats each
preset with those seeds. `--dry_run` prints how long the
presets would take on this machine, from a few seconds of each one's train step timed
now, and trains and writes nothing. `--protocol=tf1|clean` scores finished runs again
under another FID protocol, from the generators they exported, without training.
`--data_sources=svhn=PATH` reads SVHN (not bundled) from a keras-layout .npz or a
folder, and adds its report A rows to the default presets.
"""

from absl import flags

from tfgan_replica import ablations, reproduction, studies
from tfgan_replica.choices import BUDGETS, DEFAULT_FID_PROTOCOL, FID_PROTOCOLS
from tfgan_replica.cli import no_positional_arguments, reporting_errors, run
from tfgan_replica.errors import InputError

flags.DEFINE_list("presets", None,
                  "Presets to run (default: every MNIST preset of the reports and ours).")
flags.DEFINE_enum("budget", "cpu", BUDGETS,
                  "smoke: a few steps each; cpu: shortened epochs; full: the reports' lengths.")
flags.DEFINE_string("results_dir", "results", "Where results.json, the table and the figures go.")
flags.DEFINE_string("runs_dir", None,
                    "Where the training runs go (default runs/reproduce, or runs/ablations).")
flags.DEFINE_bool("force", False, "Retrain presets that are already finished (with "
                  "--protocol=tf1|clean: score them again).")
flags.DEFINE_string("inception_weights", None,
                    "Path of fid_inception_2015_12_05.pt (else fetched with pip).")
flags.DEFINE_bool("dry_run", False,
                  "Print the projected wall time of each preset (steps timed now) and stop.")
flags.DEFINE_list("seeds", None,
                  "Train each preset with each of these seeds (default: its own); a run with "
                  "another seed is recorded as PRESET@seedN, and the report gives the spread.")
flags.DEFINE_list("ablations", None,
                  f"Ablation studies to run instead of presets: {sorted(studies.STUDIES)}.")
flags.register_validator("ablations", lambda names: set(names or ()) <= set(studies.STUDIES),
                         f"--ablations takes names of {sorted(studies.STUDIES)}")
flags.DEFINE_enum("protocol", DEFAULT_FID_PROTOCOL, FID_PROTOCOLS,
                  f"{DEFAULT_FID_PROTOCOL} trains and scores as usual; tf1 or clean scores the "
                  "finished runs of --presets (with --seeds) under that FID protocol instead, "
                  "with each run's own budget, and trains nothing.")
flags.DEFINE_list("data_sources", None,
                  "DATASET=SOURCE pairs, e.g. svhn=svhn.npz: where a dataset is read for "
                  "training, its reference statistics and its real floor ('tfds', or a "
                  "keras-layout .npz or a folder of IDX files or PNGs; see --data_source of "
                  "train).")
FLAGS = flags.FLAGS


def parse_data_sources(pairs):
    """{dataset: source} from DATASET=SOURCE strings."""
    sources = {}
    for pair in pairs or ():
        dataset, equals, source = pair.partition("=")
        if not (equals and dataset and source):
            raise InputError(f"--data_sources takes DATASET=SOURCE pairs, e.g. "
                             f"--data_sources=svhn=svhn.npz; got {pair!r}")
        sources[dataset] = source
    return sources


def main(argv):
    no_positional_arguments(argv)
    interrupted = "interrupted; finished results are kept, and the same command resumes"
    with reporting_errors("reproduce", interrupted):
        if not all(seed.isdigit() for seed in FLAGS.seeds or ()):
            raise InputError(f"--seeds takes non-negative integers, e.g. --seeds=0,1,2; "
                             f"got {','.join(FLAGS.seeds)}")
        seeds = None if FLAGS.seeds is None else [int(seed) for seed in FLAGS.seeds]
        data_sources = parse_data_sources(FLAGS.data_sources)
        if data_sources and (FLAGS.ablations or FLAGS.dry_run or FLAGS.protocol
                             != DEFAULT_FID_PROTOCOL):
            raise InputError("--data_sources applies to training presets; leave out "
                             "--ablations, --dry_run and --protocol")
        if FLAGS.ablations and seeds is not None:
            raise InputError("--seeds repeats presets; an ablation study sets its own seeds: "
                             "leave out --seeds")
        rescoring = FLAGS.protocol != DEFAULT_FID_PROTOCOL
        if rescoring and (FLAGS.dry_run or FLAGS.ablations):
            raise InputError(f"--protocol={FLAGS.protocol} scores finished preset runs again; "
                             "leave out --dry_run and --ablations")
        if rescoring:
            reproduction.score_protocol(FLAGS.protocol, FLAGS.presets, FLAGS.results_dir,
                                        FLAGS.force, FLAGS.inception_weights, seeds=seeds)
        elif FLAGS.dry_run:
            if FLAGS.ablations:
                raise InputError("--dry_run projects presets, not ablation studies; "
                                 "leave out --ablations")
            from tfgan_replica import projection

            projection.project(FLAGS.presets, FLAGS.budget, FLAGS.results_dir, FLAGS.force,
                               FLAGS.inception_weights, seeds=seeds)
        elif FLAGS.ablations:
            for name in FLAGS.ablations:
                ablations.run_study(name, FLAGS.budget, FLAGS.results_dir,
                                    FLAGS.runs_dir or "runs/ablations", FLAGS.force,
                                    FLAGS.inception_weights)
        else:
            reproduction.reproduce(FLAGS.presets, FLAGS.budget, FLAGS.results_dir,
                                   FLAGS.runs_dir or "runs/reproduce", FLAGS.force,
                                   FLAGS.inception_weights, seeds=seeds,
                                   data_sources=data_sources)


def start():
    """`python -m tfgan_replica.cli.reproduce` and the `tfgan-reproduce` console script (setup.cfg)
    both start here."""
    run(main)


if __name__ == "__main__":
    start()
