"""Training throughput of the improved DCGAN at batch 256, in images per second.

Compares, in one process and on one fixed in-memory batch (so input loading is
not measured):
  * `fit`: our `GAN.train_step` driven by `model.fit` (float32, no XLA);
  * `plain`: a TF-tutorial-style loop, a `tf.function` step called per batch from
    Python, doing the same math (critic update on fresh fakes, then a generator
    update on fresh noise), so the ratio isolates the cost of Keras `fit`;
  * `fit_bf16`: `fit` under the mixed_bfloat16 policy;
  * `fit_xla`: `fit` with `jit_compile=True`.
The variants are timed in turn within every repeat, so a slow phase of a noisy
machine hits them all alike. Throughputs are medians over repeats; each ratio is
the median of the ratios within a repeat (paired, so load that drifts between
repeats cancels out).
"""

from __future__ import annotations

import statistics
import time

import keras
import tensorflow as tf

from tfgan_replica import losses, presets, trainer

PRESET = "dcgan_improved"


def _fit_runner(model, batch):
    data = tf.data.Dataset.from_tensors(batch).repeat()

    def run(steps):
        model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)

    return run


def _plain_runner(model, batch):
    """A tutorial-style loop on fresh copies of the same networks and optimizers."""
    generator, discriminator = model.generator, model.discriminator
    d_optimizer, g_optimizer = model.d_optimizer, model.g_optimizer
    latent_dim, batch_size = model.latent_dim, batch.shape[0]

    @tf.function
    def train_step(images):
        fakes = generator(tf.random.normal((batch_size, latent_dim)), training=True)
        with tf.GradientTape() as tape:
            real = discriminator(images, training=True)
            fake = discriminator(fakes, training=True)
            d_loss = losses.bce_d_loss(real, fake, real_target=0.9)
        d_vars = discriminator.trainable_variables
        d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
        noise = tf.random.normal((batch_size, latent_dim))
        with tf.GradientTape() as tape:
            g_loss = losses.bce_g_loss(discriminator(generator(noise, training=True), training=True))
        g_vars = generator.trainable_variables
        g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
        return d_loss, g_loss

    data = tf.data.Dataset.from_tensors(batch).repeat()

    def run(steps):
        for images in data.take(steps):
            losses_now = train_step(images)
        float(losses_now[0])  # wait for the last step

    return run


def _build(precision="float32", jit_compile=False):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        return trainer.build_model(presets.get_preset(PRESET), jit_compile=jit_compile)
    finally:
        keras.mixed_precision.set_global_policy(previous)


RATIOS = {  # name: (numerator, denominator)
    "fit_over_plain": ("fit", "plain"),
    "bf16_over_float32": ("fit_bf16", "fit"),
    "xla_over_no_xla": ("fit_xla", "fit"),
}


def run(steps=4, repeats=6, warmup=2, batch_size=256, print_fn=print):
    """Times every variant; returns {variant: images/s} plus the ratios of interest."""
    batch = tf.random.uniform((batch_size, 28, 28, 1), -1.0, 1.0, seed=0)
    runners = {
        "fit": _fit_runner(_build(), batch),
        "plain": _plain_runner(_build(), batch),
        "fit_bf16": _fit_runner(_build("mixed_bfloat16"), batch),
        "fit_xla": _fit_runner(_build(jit_compile=True), batch),
    }
    for name, runner in runners.items():
        print_fn(f"warming up {name} ({warmup} steps, includes tracing)")
        runner(warmup)
    timings = {name: [] for name in runners}
    for repeat in range(repeats):
        for name, runner in runners.items():
            start = time.perf_counter()
            runner(steps)
            timings[name].append(steps * batch_size / (time.perf_counter() - start))
        print_fn(f"repeat {repeat + 1}/{repeats}: " +
                 ", ".join(f"{n} {t[-1]:.0f} img/s" for n, t in timings.items()))
    result = {name: statistics.median(values) for name, values in timings.items()}
    for ratio, (top, bottom) in RATIOS.items():
        result[ratio] = statistics.median(a / b for a, b in zip(timings[top], timings[bottom]))
    print_fn(f"improved DCGAN, batch {batch_size}, {steps} steps x {repeats} repeats (median):")
    for name in runners:
        print_fn(f"  {name:9s} {result[name]:8.1f} images/s ({batch_size / result[name]:.3f} s/step)")
    print_fn(f"  fit / plain loop      {result['fit_over_plain']:.3f} (target >= 0.95)")
    print_fn(f"  bf16 / float32        {result['bf16_over_float32']:.3f} (target >= 1.3)")
    print_fn(f"  XLA on / off          {result['xla_over_no_xla']:.3f}")
    return result
