"""Training throughput of the GANs users train, against a plain loop of the step as it was.

Two workloads: report B's MLP GAN at batch 64 (`mlp_hinge_sn`: hinge loss, spectral
norm and the template's always-on dropout) and report A's improved DCGAN at batch 256
(`dcgan_improved`). Each is timed, on the run's own data stream from the bundled MNIST,
as:
  * `fit`: our `GAN.train_step` driven by `model.fit` with the callbacks `trainer.train`
    installs (step counter, NaN guard, TensorBoard scalars every 50 steps; what they do at
    an epoch's end, a checkpoint and a sample grid, falls outside the timed steps);
  * `plain`: the baseline, a TF-tutorial-style loop (a `tf.function` step called per
    batch from Python) computing the same function as the step did before it was made
    faster: Keras' own Adam, and each spectral norm dividing its whole kernel by sigma
    (see `plain_train_step`);
  * `bare_fit` (MLP): the same compiled step under `model.fit` with no callbacks, so
    `fit / bare fit` shows what our callbacks cost;
  * `fit_bf16` (the mixed_bfloat16 policy) and `fit_xla` (`jit_compile=True`);
  * `matmuls_alone` (MLP): the step's own matrix products at their shapes and nothing
    else (`peak.step_matmuls_arm`), the ceiling of any step that computes the same, so
    `fit / the step's matmuls alone` is the share of it that the step reaches.
Then a profile of the step says where its kernel time goes (see `profile`).
The arms are timed in interleaved pairs of windows (see `paired`) and each workload's
GFLOP/s is set beside the machine's matmul peak (see `peak`).

What our callbacks add is judged on their share of each `fit` step, timed inside the
windows (`CALLBACK_SHARE_LIMIT`): `fit / bare fit` measures the same thing, but two
windows of the same arm differ by up to ~4%, so a ratio of two nearly equal arms
cannot resolve a cost below 1% in a few pairs.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

import keras
import tensorflow as tf

from tfgan_replica import (callbacks, checkpoints, data, gan, networks, optimizers, presets,
                           trainer)
from tfgan_replica.benchmarks import paired, peak, profile
from tfgan_replica.errors import InputError

FIT_ARMS = {  # name: (precision, jit_compile, with the run's callbacks)
    "fit": ("float32", False, True),
    "bare_fit": ("float32", False, False),
    "fit_bf16": ("mixed_bfloat16", False, True),
    "fit_xla": ("float32", True, True),
}
WORKLOADS = (  # (title, preset, batch size, arms, ratios with their targets)
    ("Report B's MLP GAN (mlp_hinge_sn)", "mlp_hinge_sn", 64,
     ("fit", "bare_fit", "plain", "fit_bf16", "fit_xla", "matmuls_alone"), (
        paired.Ratio("fit", "bare_fit", "fit / bare fit"),
        paired.Ratio("fit", "plain", "fit / plain loop of the step as it was", target=2.0),
        paired.Ratio("matmuls_alone", "plain", "the step's matmuls alone / plain loop"),
        paired.Ratio("fit", "matmuls_alone", "fit / the step's matmuls alone"),
        paired.Ratio("fit_bf16", "fit", "bf16 / float32"),
        paired.Ratio("fit_xla", "fit", "XLA on / off"),
    )),
    ("Report A's improved DCGAN (dcgan_improved)", "dcgan_improved", 256,
     ("fit", "plain", "fit_bf16", "fit_xla"), (
        paired.Ratio("fit", "plain", "fit / plain loop of the step as it was", target=0.95),
        paired.Ratio("fit_bf16", "fit", "bf16 / float32", target=1.3),
        paired.Ratio("fit_xla", "fit", "XLA on / off"),
    )),
)
CALLBACK_SHARE_LIMIT = 0.02  # of a `fit` step's time, for the callbacks' per-step work
_ENDLESS = 10 ** 9  # steps of the one epoch a window runs; the window's timer ends it


@contextlib.contextmanager
def _policy(precision):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _build(preset, precision="float32", jit_compile=False):
    """`preset`'s compiled GAN, initialized as `trainer.train` initializes it."""
    keras.utils.set_random_seed(preset.seed)
    with _policy(precision):
        return trainer.build_model(preset, jit_compile)


def _stream(preset):
    images, _ = data.load_arrays(preset.dataset, "train")
    return trainer.stream_from_step(images, preset.batch_size, preset.seed, 0)


class _WindowTimer(keras.callbacks.Callback):
    """Times `fit`'s steps from the start of the first and stops it after the first step
    that ends both `seconds` and `min_steps`. It comes last in the list, so the time
    includes every other callback's work on each step; `callbacks_clock`, first in the
    list, adds up how much of it that work took."""

    def __init__(self, seconds, min_steps, callbacks_clock):
        super().__init__()
        self.seconds = seconds
        self.min_steps = min_steps
        self.callbacks_clock = callbacks_clock
        self.steps = 0
        self.start = None
        self.elapsed = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        if self.start is None:
            self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        self.callbacks_clock.seconds += now - self.callbacks_clock.step_end
        self.steps += 1
        self.elapsed = now - self.start
        if self.steps >= self.min_steps and self.elapsed >= self.seconds:
            self.model.stop_training = True


class _CallbacksClock(keras.callbacks.Callback):
    """Marks when the first callback's per-step work begins (see `_WindowTimer`)."""

    def __init__(self):
        super().__init__()
        self.seconds = 0.0
        self.step_end = None

    def on_train_batch_end(self, batch, logs=None):
        self.step_end = time.perf_counter()


class FitArm:
    """`model.fit` as `trainer.train` runs it: the run's data stream and callbacks, which
    write into `work_dir` (TensorBoard scalars, and a sample grid after each window).
    Without `run_callbacks`, only the timing callbacks run, on the same step (its
    gradient norms taken every `trainer.LOG_EVERY_N_STEPS` steps, as `build_model` sets).

    A window is one `fit` call; its time runs from the first step to the end of the
    last step's callbacks (what `fit` does before the first step and at the epoch's end
    happens once per epoch in a run, not once per step). `callback_share` is the part of
    the timed steps that the callbacks' per-step work took, over every window after the
    first (which traces the step).
    """

    def __init__(self, name, preset, work_dir, precision="float32", jit_compile=False,
                 run_callbacks=True):
        self.name = name
        self.items_per_step = preset.batch_size
        self.dtype = keras.mixed_precision.Policy(precision).compute_dtype
        self.precision = precision
        self.model = _build(preset, precision, jit_compile)
        if run_callbacks:
            work_dir = Path(work_dir)
            checkpointer = checkpoints.Checkpointer(self.model, work_dir / "checkpoints")
            writer = callbacks.summary_writer(work_dir)
            self.callbacks = trainer.make_callbacks(preset, checkpointer, work_dir, writer,
                                                    print_fn=lambda *_: None).all
        else:
            self.callbacks = []
        self.stream = _stream(preset)
        self._windows = 0
        self._callback_seconds = 0.0
        self._timed_seconds = 0.0

    @property
    def callback_share(self):
        return self._callback_seconds / self._timed_seconds if self._timed_seconds else 0.0

    def window(self, seconds, min_steps=1):
        clock = _CallbacksClock()
        timer = _WindowTimer(seconds, min_steps, clock)
        with _policy(self.precision):
            self.model.fit(self.stream, epochs=1, steps_per_epoch=_ENDLESS, verbose=0,
                           shuffle=False, callbacks=[clock, *self.callbacks, timer])
        if self._windows:  # the first window traces the step: left out of the share
            self._callback_seconds += clock.seconds
            self._timed_seconds += timer.elapsed
        self._windows += 1
        return timer.steps, timer.elapsed


def todays_discriminator(discriminator):
    """`discriminator`'s forward pass as the step computed it before the step was made
    faster: each `SpectralNorm` divides its whole kernel by sigma (three passes over W
    for sigma, then W / sigma) instead of the layer's outputs. The same function."""
    def kernel_scaled(wrapper, inputs, training):
        with tf.name_scope("sigma"):  # the norm's whole cost, W / sigma included (`profile`)
            matrix = wrapper._matrix()
            if training:
                v = wrapper._normalize(tf.linalg.matvec(matrix, wrapper.vector_u))
                u = wrapper._normalize(tf.linalg.matvec(matrix, v, transpose_a=True))
                wrapper.vector_v.assign(tf.stop_gradient(v))
                wrapper.vector_u.assign(tf.stop_gradient(u))
            sigma = tf.reduce_sum(wrapper.vector_v * tf.linalg.matvec(matrix, wrapper.vector_u))
            kernel = tf.cast(wrapper.layer.kernel, tf.float32) / sigma
        outputs = (tf.matmul(inputs, kernel) if isinstance(wrapper.layer, keras.layers.Dense)
                   else tf.nn.conv2d(inputs, kernel, wrapper.layer.strides,
                                     wrapper.layer.padding.upper()))
        if wrapper.layer.use_bias:
            outputs = outputs + wrapper.layer.bias
        return wrapper.layer.activation(outputs)

    def call(images, training):
        outputs = images
        for layer in discriminator.layers:
            outputs = (kernel_scaled(layer, outputs, training)
                       if isinstance(layer, networks.SpectralNorm)
                       else layer(outputs, training=training))
        return outputs

    return call


def todays_optimizer(optimizer, variables):
    """Keras' own Adam (an op per term) in place of `FusedAdam`, with its settings."""
    if not isinstance(optimizer, optimizers.FusedAdam):
        return optimizer
    unfused = keras.optimizers.Adam.from_config({**optimizer.get_config(), "name": "adam"})
    unfused.build(variables)
    return unfused


def plain_train_step(model):
    """The TF tutorial's `train_step` for `model`'s networks and losses, as our step was
    computed before it was made faster (`todays_discriminator`, `todays_optimizer`).

    It does what `GAN.train_step` does for a family whose objective is its two losses
    (a plain `GAN`, `n_critic=1`, no EMA, no augmentation, float32), with no metrics:
    a critic update on fresh fakes, then a generator update on fresh noise. The noise
    comes from the GAN's own `draw_noise`, keyed by the step as in the GAN, so from the
    same start both compute the same numbers (to float32 rounding).
    """
    generator = model.generator
    discriminator = todays_discriminator(model.discriminator)
    d_variables = model.discriminator.trainable_variables
    g_variables = generator.trainable_variables
    d_optimizer = todays_optimizer(model.d_optimizer, d_variables)
    g_optimizer = todays_optimizer(model.g_optimizer, g_variables)

    @tf.function
    def train_step(real_images):
        batch_size = tf.shape(real_images)[0]
        fake_images = generator(model.draw_noise(batch_size), training=True)
        with tf.GradientTape() as tape:
            d_loss = model.gan_loss.d(discriminator(real_images, training=True),
                                      discriminator(fake_images, training=True))
        d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_variables), d_variables))
        model.critic_updates.assign_add(1)
        noise = model.draw_noise(batch_size, stream=1)
        with tf.GradientTape() as tape:
            g_loss = model.gan_loss.g(discriminator(generator(noise, training=True),
                                                    training=True))
        g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_variables), g_variables))
        return d_loss, g_loss

    return train_step


class PlainArm(paired.LoopArm):
    """The plain loop of the step as it was (see `plain_train_step`) over the run's data
    stream, on its own copy of `preset`'s GAN: the baseline of the speed-ups."""

    def __init__(self, name, preset):
        if gan.FAMILIES[preset.family][0] is not gan.GAN or preset.n_critic != 1 or (
                preset.ema_decay or preset.diffaug):
            raise InputError(f"the plain loop has no counterpart of preset {preset.name!r}'s "
                             "critic iterations, penalty, clipping, EMA or augmentation")
        self.model = _build(preset)
        step = plain_train_step(self.model)
        stream = _stream(preset)

        def make_step():
            batches = iter(stream)
            return lambda: step(next(batches))

        super().__init__(name, make_step, preset.batch_size)


def _traced_step(preset):
    """The concrete function of one `GAN.train_step` of `preset` at its batch size, traced
    as Keras traces it (one critic and, with `n_critic=1`, one generator update)."""
    model = _build(preset)
    spec = tf.TensorSpec((preset.batch_size, *data.image_shape(preset.dataset)), tf.float32)
    return tf.function(model.train_step, autograph=False).get_concrete_function(spec)


def step_flops(preset):
    """FLOPs of one `GAN.train_step` of `preset` at its batch size."""
    return peak.graph_flops(_traced_step(preset))


def workload_arms(preset, arm_names, work_dir):
    """The `fit` arms named in `arm_names` (see `FIT_ARMS`), `plain` and `matmuls_alone`."""
    arms = []
    for name in arm_names:
        if name == "plain":
            arms.append(PlainArm(name, preset))
        elif name == "matmuls_alone":
            arms.append(peak.step_matmuls_arm(
                name, peak.matmul_shapes(_traced_step(preset)), preset.batch_size))
        else:
            precision, jit_compile, run_callbacks = FIT_ARMS[name]
            arms.append(FitArm(name, preset, Path(work_dir, name), precision, jit_compile,
                               run_callbacks))
    return arms


def step_breakdown(preset, as_it_was=False, steps=30):
    """{kind: share of kernel time} of `preset`'s `GAN.train_step`, or with `as_it_was` of
    the plain loop's step (see `profile`, `plain_train_step`)."""
    model = _build(preset)
    batches = iter(_stream(preset))
    step = plain_train_step(model) if as_it_was else tf.function(model.train_step)
    return profile.breakdown(lambda: step(next(batches)), steps)


def run(window_seconds=20.0, pairs=5, warmup=2, print_fn=print, peak_gflops=None):
    """Times both workloads; returns {preset name: `paired.WorkloadResult`}.

    `peak_gflops` ({dtype: Spread}) is measured first unless given.
    """
    peak_gflops = peak_gflops or peak.measure_peak(print_fn=print_fn)
    results = {}
    for title, name, batch_size, arm_names, ratios in WORKLOADS:
        preset = presets.get_preset(name).replace(batch_size=batch_size)
        flops = step_flops(preset)
        with tempfile.TemporaryDirectory(prefix="tfgan_replica-bench-") as work_dir:
            arms = workload_arms(preset, arm_names, work_dir)
            results[name] = paired.run_workload(
                f"{title}, batch {batch_size}, {flops / 1e9:.2f} GFLOP a step", arms, ratios,
                pairs, window_seconds, warmup, flops, peak_gflops, print_fn=print_fn)
            for arm in arms:
                if isinstance(arm, FitArm) and arm.callbacks:
                    verdict = "pass" if arm.callback_share <= CALLBACK_SHARE_LIMIT else "FAIL"
                    print_fn(f"  {arm.name}: the callbacks' work on each step took "
                             f"{arm.callback_share:.2%} of its time (limit "
                             f"{CALLBACK_SHARE_LIMIT:.0%}: {verdict})")
        for label, as_it_was in (("the step", False), ("the step as it was", True)):
            print_fn(f"  where {label}'s kernel time goes: "
                     + profile.format_breakdown(step_breakdown(preset, as_it_was)))
    return results
