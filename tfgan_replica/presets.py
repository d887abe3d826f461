"""Named, validated descriptions of a training run: the `Preset` schema and its registry.

    preset = presets.get_preset("dcgan_improved").replace(epochs=5)

A `Preset` is a frozen dataclass, so a run is fully described by a value that can be
printed, written to `config.json` and compared. Every preset is validated when it is
made, including after `replace`, so an impossible combination fails before any work.
The presets themselves, one per row of the reports, are in `preset_catalogue`, which
this module imports last; add one there with `register(Preset(...))`.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap

import keras

from tfgan_replica import diffaug, gan, networks, optimizers
from tfgan_replica.choices import DATASET_SHAPES, OPTIMIZERS, REAL_TARGET
from tfgan_replica.errors import InputError

# Which reproduction a preset belongs to: report A or B, our own best, or none.
REPORTS = ("A", "B", "ours", "")


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    """An optimizer by name; `beta_1`/`beta_2` apply to Adam, `rho` to RMSProp.

    `epsilon` is Keras' (default 1e-7). Keras adds it to sqrt(v) in Adam but to v
    under the square root in RMSProp; `torch_adam`/`torch_rmsprop` convert PyTorch's.
    `decay_steps`, if set, lowers the rate linearly to 0 over that many updates of this
    optimizer, as Gulrajani et al.'s WGAN-GP code does. It counts the optimizer's own
    updates, which checkpoints keep, so a resumed run follows the same schedule.
    """

    name: str = "adam"
    learning_rate: float = 2e-4
    beta_1: float = 0.9
    beta_2: float = 0.999
    rho: float = 0.9
    epsilon: float = 1e-7
    decay_steps: int | None = None

    def __post_init__(self):
        if self.name not in OPTIMIZERS:
            raise InputError(f"unknown optimizer {self.name!r}; choose one of {list(OPTIMIZERS)}")
        if not self.learning_rate > 0:
            raise InputError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.decay_steps is not None and not self.decay_steps >= 1:
            raise InputError(f"decay_steps must be >= 1 or None (a constant rate), "
                             f"got {self.decay_steps}")

    def build(self):
        """A fresh Keras optimizer (call inside the distribution strategy's scope)."""
        rate = self.learning_rate
        if self.decay_steps is not None:
            rate = keras.optimizers.schedules.PolynomialDecay(
                rate, self.decay_steps, end_learning_rate=0.0, power=1.0)
        if self.name == "adam":  # Keras' Adam, computed in one kernel (see `optimizers`)
            return optimizers.FusedAdam(rate, beta_1=self.beta_1, beta_2=self.beta_2,
                                        epsilon=self.epsilon)
        return keras.optimizers.RMSprop(rate, rho=self.rho, epsilon=self.epsilon)


def adam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    return OptimizerConfig("adam", learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)


def rmsprop(learning_rate, rho=0.9, epsilon=1e-7):
    return OptimizerConfig("rmsprop", learning_rate, rho=rho, epsilon=epsilon)


def torch_adam(learning_rate, beta_1=0.9, beta_2=0.999):
    """`torch.optim.Adam` in Keras: epsilon 1e-8, not Keras' 1e-7, which damps per-weight
    gradients of that size (a saturated network has them). Exact once bias correction fades."""
    return adam(learning_rate, beta_1, beta_2, epsilon=1e-8)


def torch_rmsprop(learning_rate):
    """`torch.optim.RMSprop`'s defaults in Keras: rho 0.99 and epsilon 1e-8 added to sqrt(v).

    Keras adds its epsilon under the square root, so PyTorch's 1e-8 becomes 1e-16 (the
    same at v = 0). Keras' default 1e-7 there acts like 3e-4 added to sqrt(v): it damps
    every gradient smaller than that, as a clipped critic's are.
    """
    return rmsprop(learning_rate, rho=0.99, epsilon=1e-16)


@dataclasses.dataclass(frozen=True)
class Preset:
    """Everything that defines a training run except where and how fast it runs.

    The fields from `name` to `seed` are the run itself: its name, its length (`epochs`)
    and every setting its training uses.
    The last three belong to the catalogue: `cpu_epochs` (the `cpu` reproduction budget's
    length), `report` (the row it reproduces, which also decides how a result is scored)
    and `note`, the one field that describes only (`DESCRIPTION_FIELDS`).
    """

    name: str
    dataset: str = "mnist"
    generator: str = "dcgan_improved"
    discriminator: str = "dcgan_improved"
    family: str = "bce"
    spectral_norm: bool = False
    spectral_norm_output: bool = True
    sigmoid_output: bool = False
    minibatch_stddev: bool = False
    dropout: float = 0.0
    d_batch_norm: bool = True
    d_builtin_dropout: bool = True
    diffaug: str | None = None
    epochs: int = 50
    batch_size: int = 256
    latent_dim: int = 100
    d_optimizer: OptimizerConfig = OptimizerConfig()
    g_optimizer: OptimizerConfig = OptimizerConfig()
    real_target: float = REAL_TARGET
    n_critic: int = 1
    n_critic_in_step: bool = False
    simultaneous: bool = False
    clip_value: float | None = None
    gp_weight: float | None = None
    r1_gamma: float | None = None
    ema_decay: float | None = None
    seed: int = 0
    # The catalogue's fields: they change no training step.
    cpu_epochs: int | None = None
    report: str = ""
    note: str = ""

    def __post_init__(self):
        _validate(self)

    def replace(self, **overrides):
        """A copy with `overrides` applied and validated; unknown fields are an error."""
        unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise InputError(f"unknown preset field(s) {unknown}; valid: {field_names()}")
        return dataclasses.replace(self, **overrides)

    def gan_options(self):
        """Keyword arguments for `gan.make_gan` beyond the networks: every option this preset
        sets, which `make_gan` checks against its family."""
        options = {"latent_dim": self.latent_dim, "n_critic": self.n_critic,
                   "n_critic_in_step": self.n_critic_in_step}
        if self.simultaneous:
            options["simultaneous"] = True
        if self.real_target != REAL_TARGET:
            options["real_target"] = self.real_target
        for name in ("clip_value", "gp_weight", "r1_gamma", "ema_decay"):
            if getattr(self, name) is not None:
                options[name] = getattr(self, name)
        return options

    def to_dict(self):
        return dataclasses.asdict(self)


def from_dict(values):
    """The inverse of `Preset.to_dict` (e.g. for a run's config.json)."""
    values = dict(values)
    for kind in ("d_optimizer", "g_optimizer"):
        values[kind] = OptimizerConfig(**values[kind])
    return Preset(**values)


# Fields that only describe a preset: rewording them never makes a recorded result or a
# run folder count as changed. `report` and `cpu_epochs` change no training step either,
# but a recorded result depends on them: `report` decides how it is scored (report B's
# rows by its own evaluator too), `cpu_epochs` how long the cpu budget trains.
DESCRIPTION_FIELDS = ("note",)


def changed_fields(recorded, preset):
    """Fields in which `recorded` (a `to_dict`, e.g. from results.json) differs from
    `preset`, other than the `DESCRIPTION_FIELDS`.

    A record older than a field reads as that field's default, the value it was run
    with.
    """
    before = from_dict(recorded)
    return [name for name in field_names()
            if name not in DESCRIPTION_FIELDS and getattr(before, name) != getattr(preset, name)]


# How long a run trains is not what it is: runs resume exactly and no schedule depends on
# the length, so a shorter run of the same settings is the beginning of a longer one.
RUN_LENGTH_FIELDS = ("epochs", "cpu_epochs")


def changed_settings(recorded, preset):
    """`changed_fields` other than the run lengths: what makes `recorded` another run."""
    return [name for name in changed_fields(recorded, preset) if name not in RUN_LENGTH_FIELDS]


def field_names():
    return [f.name for f in dataclasses.fields(Preset)]


def _validate(p):
    def fail(problem):
        raise InputError(f"preset {p.name!r}: {problem}")

    if p.dataset not in DATASET_SHAPES:
        fail(f"unknown dataset {p.dataset!r}; choose one of {sorted(DATASET_SHAPES)}")
    for kind in ("d_optimizer", "g_optimizer"):
        if not isinstance(getattr(p, kind), OptimizerConfig):
            fail(f"{kind} must be an OptimizerConfig, e.g. presets.adam(2e-4)")
    if p.clip_value is not None and p.gp_weight is not None:
        fail("weight clipping and a gradient penalty are alternatives; set only one of "
             "clip_value (family 'wgan_clip') or gp_weight (family 'wgan_gp')")
    _validate_gan(p, fail)
    if p.family == "wgan_clip" and p.clip_value is None:
        fail("family 'wgan_clip' needs clip_value (the report uses 0.01)")
    if p.family == "wgan_gp" and p.gp_weight is None:
        fail("family 'wgan_gp' needs gp_weight (usually 10)")
    if p.sigmoid_output and p.family == "bce":
        fail("sigmoid_output is for hinge and Wasserstein critics; the 'bce' loss applies "
             "the sigmoid itself")
    if not p.spectral_norm_output and not p.spectral_norm:
        fail("spectral_norm_output=False leaves the output layer out of spectral norm; it needs "
             "spectral_norm=True")
    if p.cpu_epochs is not None and p.cpu_epochs < 1:
        fail(f"cpu_epochs must be >= 1 or None (then epochs), got {p.cpu_epochs}")
    if p.report not in REPORTS:
        fail(f"report must be one of {list(REPORTS)}, got {p.report!r}")
    for name in ("epochs", "batch_size", "latent_dim"):
        if getattr(p, name) < 1:
            fail(f"{name} must be positive (>= 1), got {getattr(p, name)}")
    _validate_networks(p, fail)
    if p.diffaug:
        _validate_diffaug(p, fail)


def _validate_networks(p, fail):
    """Checks names and that the generator draws images of the dataset's shape."""
    want = DATASET_SHAPES[p.dataset]
    if p.generator not in networks.GENERATORS:
        fail(f"unknown generator {p.generator!r}; choose one of {sorted(networks.GENERATORS)}")
    if p.discriminator not in networks.DISCRIMINATORS:
        fail(f"unknown discriminator {p.discriminator!r}; "
             f"choose one of {sorted(networks.DISCRIMINATORS)}")
    if networks.image_shape(p.generator) != want:
        fail(f"generator {p.generator!r} draws {networks.image_shape(p.generator)} images but "
             f"{p.dataset!r} has {want}; use a generator built for {p.dataset}")
    shape_free = networks.ANY_SHAPE_DISCRIMINATORS
    if p.discriminator not in shape_free and networks.image_shape(p.discriminator) != want:
        fail(f"discriminator {p.discriminator!r} takes {networks.image_shape(p.discriminator)} "
             f"images but {p.dataset!r} has {want}; use one built for {p.dataset} or 'mlp'/'conv'")
    try:
        networks.check_discriminator_options(p.discriminator, p.dropout, p.d_batch_norm,
                                             p.d_builtin_dropout)
    except InputError as error:
        fail(str(error))


def _validate_gan(p, fail):
    """The family and its options, as `gan.make_gan` checks them."""
    try:
        gan.check_options(p.family, p.gan_options())
    except InputError as error:
        fail(str(error))


def _validate_diffaug(p, fail):
    try:
        diffaug.parse_policy(p.diffaug)
    except ValueError as error:
        fail(f"diffaug: {error}")


PRESETS: dict[str, Preset] = {}


def register(preset):
    """Adds `preset` to the registry (a name may be registered once)."""
    if preset.name in PRESETS:
        raise InputError(f"preset {preset.name!r} is already registered")
    PRESETS[preset.name] = preset
    return preset


def get_preset(name):
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]


def summary(preset, width=90):
    """One line of what `preset` is: the first sentence of its note, shortened to `width`."""
    first = re.split(r"(?<=\.)\s+(?=[A-Z])", preset.note, maxsplit=1)[0]
    return textwrap.shorten(first, width, placeholder=" ...")


def listing():
    """Every preset as one line (report, name, epochs, epochs of the cpu budget, `summary`),
    sorted by report (A, B, ours, then none) and name: what `./run.sh presets` prints."""
    rows = [("report", "preset", "epochs", "cpu_epochs", "what it is")]
    rows += [(p.report or "-", p.name, str(p.epochs), str(p.cpu_epochs or p.epochs), summary(p))
             for p in sorted(PRESETS.values(), key=lambda p: (REPORTS.index(p.report), p.name))]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = ["  ".join([*(cell.ljust(width) for cell, width in zip(row, widths)), row[4]])
             for row in rows]
    return "\n".join(lines + ["train one with: ./run.sh train --preset=NAME"])


# Last: the catalogue registers its presets with everything above.
from tfgan_replica import preset_catalogue  # noqa: E402, F401
