"""Training-step behaviour of the GAN families on tiny networks and data."""

import json
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_replica import gan, losses, networks

LATENT = 4
SHAPE = (8, 8, 1)


def tiny_generator(batch_norm=False):
    layers = [keras.Input((LATENT,)), keras.layers.Dense(16, activation="relu")]
    if batch_norm:  # the networks' own: synchronized across replicas under a strategy
        layers.append(networks.layers.batch_norm())
    layers += [keras.layers.Dense(64), keras.layers.Activation("tanh", dtype="float32"),
               keras.layers.Reshape(SHAPE)]
    return keras.Sequential(layers)


def tiny_discriminator(kernel_initializer="glorot_uniform", output_scale=None):
    layers = [keras.Input(SHAPE), keras.layers.Flatten(),
              keras.layers.Dense(16, kernel_initializer=kernel_initializer),
              keras.layers.LeakyReLU(0.2),
              keras.layers.Dense(1, kernel_initializer=kernel_initializer)]
    if output_scale is not None:
        layers.append(keras.layers.Rescaling(output_scale))
    layers.append(keras.layers.Activation("linear", dtype="float32"))
    return keras.Sequential(layers)


def real_images(count=64, seed=0):
    """A fixed Gaussian blob around 0.5: easy to tell from an untrained G."""
    return np.random.default_rng(seed).normal(0.5, 0.1, (count, *SHAPE)).astype(np.float32)


def build(family="bce", d_lr=1e-3, g_lr=1e-3, optimizer=keras.optimizers.Adam,
          discriminator=None, generator=None, **options):
    model = gan.make_gan(family, generator or tiny_generator(),
                         discriminator or tiny_discriminator(),
                         latent_dim=LATENT, noise_seed=0, **options)
    model.compile(optimizer(d_lr), optimizer(g_lr))
    return model


def score_gap(model, images):
    """Mean D(x) - mean D(G(z)) on fixed noise, outside training."""
    z = tf.random.stateless_normal((len(images), LATENT), seed=(7, 0))
    real = model.discriminator(images, training=False)
    fake = model.discriminator(model.generator(z, training=False), training=False)
    return float(tf.reduce_mean(real) - tf.reduce_mean(fake))


@pytest.fixture(autouse=True)
def fresh_state():
    """Seeded weights, and the float32 policy back after tests that change it."""
    keras.utils.set_random_seed(0)
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("family, options", [
    ("bce", {}),
    ("hinge", {}),
    ("wgan_clip", {"clip_value": 0.1, "optimizer": keras.optimizers.RMSprop}),
    ("wgan_gp", {}),
    ("lsgan", {}),
], ids=["bce", "hinge", "wgan_clip", "wgan_gp", "lsgan"])
def test_each_family_pulls_real_and_fake_scores_apart(family, options):
    model = build(family, d_lr=5e-3, g_lr=1e-4, **options)
    images = real_images()
    before = score_gap(model, images)
    history = model.fit(images, batch_size=16, epochs=3, verbose=0)
    after = score_gap(model, images)
    assert after > before + 0.25, (before, after)
    expected = {"d_loss", "g_loss", "d_real", "d_fake", "em_estimate",
                "d_grad_norm", "g_grad_norm"}
    if family == "wgan_gp":
        expected.add("gradient_penalty")
    assert set(history.history) == expected
    assert all(np.isfinite(values).all() for values in history.history.values())
    last = {name: values[-1] for name, values in history.history.items()}
    assert last["em_estimate"] == pytest.approx(last["d_real"] - last["d_fake"], abs=1e-5)
    if family == "wgan_gp":  # the critic loss carries the weighted penalty
        assert last["gradient_penalty"] > 0
        assert last["d_loss"] == pytest.approx(
            -last["em_estimate"] + 10.0 * last["gradient_penalty"], abs=1e-4)


def test_wgan_clip_keeps_critic_weights_in_range():
    clip = 0.01
    init = keras.initializers.RandomUniform(-0.5, 0.5)
    model = build("wgan_clip", clip_value=clip, optimizer=keras.optimizers.RMSprop,
                  discriminator=tiny_discriminator(kernel_initializer=init))
    weights = model.discriminator.trainable_variables
    assert max(float(tf.reduce_max(tf.abs(w))) for w in weights) > clip
    model.fit(real_images(16), batch_size=8, epochs=1, verbose=0)
    assert max(float(tf.reduce_max(tf.abs(w))) for w in weights) <= clip + 1e-7
    assert model.d_optimizer.iterations.numpy() == 2


def test_n_critic_updates_generator_every_fifth_step_across_fits():
    model = build("wgan_gp", n_critic=5)
    images = real_images(40)
    model.fit(images[:16], batch_size=4, epochs=1, verbose=0)  # calls 1-4
    assert model.g_optimizer.iterations.numpy() == 0
    model.fit(images[16:], batch_size=4, epochs=1, verbose=0)  # calls 5-10
    assert model.d_optimizer.iterations.numpy() == 10
    assert model.critic_updates.numpy() == 10
    assert model.g_optimizer.iterations.numpy() == 2


def test_n_critic_in_step_updates_the_critic_n_times_then_the_generator_each_step():
    model = build("wgan_clip", n_critic=5, n_critic_in_step=True, clip_value=0.1,
                  optimizer=keras.optimizers.RMSprop)
    model.fit(real_images(16), batch_size=4, epochs=1, verbose=0)  # 4 steps
    assert model.d_optimizer.iterations.numpy() == model.critic_updates.numpy() == 20
    assert model.g_optimizer.iterations.numpy() == 4
    config = model.get_config()
    assert config["n_critic_in_step"] is True
    assert gan.WGANClip.from_config(config).n_critic_in_step


def test_simultaneous_step_is_the_tutorials_two_tape_step():
    """One step equals the TensorFlow DCGAN tutorial's `train_step` written out: both
    losses from one forward pass, both SGD updates from the weights of that pass. The
    alternating step moves the generator differently (it sees the updated critic)."""
    lr, images = 0.1, real_images(8)
    model = build("bce", d_lr=lr, g_lr=lr, optimizer=keras.optimizers.SGD, simultaneous=True)
    generator = keras.models.clone_model(model.generator)
    discriminator = keras.models.clone_model(model.discriminator)
    generator.set_weights(model.generator.get_weights())
    discriminator.set_weights(model.discriminator.get_weights())
    noise = model.draw_noise(len(images))  # the first step's critic noise

    with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
        fake_output = discriminator(generator(noise, training=True), training=True)
        real_output = discriminator(images, training=True)
        gen_loss = losses.bce_g_loss(fake_output)
        disc_loss = losses.bce_d_loss(real_output, fake_output)
    expected = {}
    for name, network, tape, loss in [("g", generator, gen_tape, gen_loss),
                                      ("d", discriminator, disc_tape, disc_loss)]:
        grads = tape.gradient(loss, network.trainable_variables)
        expected[name] = [w.numpy() - lr * g.numpy()
                          for w, g in zip(network.trainable_variables, grads)]

    model.fit(images, batch_size=len(images), epochs=1, verbose=0, shuffle=False)
    assert model.d_optimizer.iterations.numpy() == model.g_optimizer.iterations.numpy() == 1
    for name, network in [("g", model.generator), ("d", model.discriminator)]:
        for got, want in zip(network.trainable_variables, expected[name]):
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)

    alternating = build("bce", d_lr=lr, g_lr=lr, optimizer=keras.optimizers.SGD)
    alternating.generator.set_weights(generator.get_weights())
    alternating.discriminator.set_weights(discriminator.get_weights())
    alternating.fit(images, batch_size=len(images), epochs=1, verbose=0, shuffle=False)
    moved = [np.abs(a.numpy() - b).max()
             for a, b in zip(alternating.generator.trainable_variables, expected["g"])]
    assert max(moved) > 1e-4
    assert gan.GAN.from_config(model.get_config()).simultaneous


@pytest.mark.parametrize("options", [{"n_critic": 5}, {"n_critic_in_step": True}])
def test_simultaneous_updates_need_one_critic_update_a_step(options):
    with pytest.raises(ValueError, match="simultaneous.*n_critic"):
        gan.make_gan("bce", tiny_generator(), tiny_discriminator(), simultaneous=True,
                     **options)


def test_r1_adds_gamma_times_the_critic_weights_to_a_linear_critics_gradient():
    """For D(x) = <w, x> + b, R1 = ||w||^2, so r1_gamma / 2 * R1 adds gamma * w to the
    kernel's gradient and nothing to the bias's: one SGD step differs by -lr * gamma * w."""
    lr, gamma, images = 0.1, 3.0, real_images(8)
    linear = lambda: keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                                       keras.layers.Dense(1)])
    plain = build("bce", d_lr=lr, optimizer=keras.optimizers.SGD, discriminator=linear())
    with_r1 = build("bce", d_lr=lr, optimizer=keras.optimizers.SGD, discriminator=linear(),
                    r1_gamma=gamma)
    with_r1.set_weights(plain.get_weights())
    kernel, bias = (w.numpy() for w in plain.discriminator.weights)
    for model in (plain, with_r1):
        model.fit(images, batch_size=len(images), epochs=1, verbose=0, shuffle=False)
    (kernel_plain, bias_plain), (kernel_r1, bias_r1) = (
        [w.numpy() for w in model.discriminator.weights] for model in (plain, with_r1))
    np.testing.assert_allclose(kernel_r1 - kernel_plain, -lr * gamma * kernel, atol=1e-6)
    np.testing.assert_allclose(bias_r1, bias_plain, atol=1e-7)
    assert float(with_r1.training_metrics.means["r1_penalty"].result()) == pytest.approx(
        float(np.sum(kernel ** 2)), rel=1e-5)
    assert gan.GAN.from_config(with_r1.get_config()).r1_gamma == gamma
    with pytest.raises(ValueError, match="r1_gamma must be > 0"):
        build("hinge", r1_gamma=0.0)


def test_ema_is_decayed_average_of_generator_weights():
    decay = 0.75
    model = build("bce", ema_decay=decay, generator=tiny_generator(batch_norm=True))
    generator, ema = model.generator, model.ema_generator
    assert ema is not generator and not ema.trainable_weights
    for a, b in zip(ema.get_weights(), generator.get_weights()):
        np.testing.assert_array_equal(a, b)
    old = [w.numpy() for w in ema.weights]
    model.fit(real_images(8), batch_size=8, epochs=1, verbose=0)
    for ema_weight, weight, old_value in zip(ema.weights, generator.weights, old):
        if weight.trainable:
            expected = decay * old_value + (1 - decay) * weight.numpy()
            np.testing.assert_allclose(ema_weight.numpy(), expected, rtol=1e-6, atol=1e-7)
    assert not np.allclose(ema.get_weights()[0], generator.get_weights()[0])


def test_ema_batch_norm_statistics_are_those_of_the_averaged_weights():
    """Copying the live generator's statistics would not fit the averaged weights."""
    generator = keras.Sequential([
        keras.Input((LATENT,)), keras.layers.Dense(3, use_bias=False),
        keras.layers.BatchNormalization(momentum=0.5), keras.layers.Dense(64),
        keras.layers.Reshape(SHAPE)])
    model = build("bce", ema_decay=0.75, generator=generator)
    ema = model.ema_generator
    ema_kernel, live_kernel = ema.weights[0].numpy(), generator.weights[0].numpy()
    noise = tf.random.normal((16, LATENT), seed=1)
    model.update_ema(noise)
    kernel = 0.75 * ema_kernel + 0.25 * live_kernel
    np.testing.assert_allclose(ema.weights[0].numpy(), kernel, rtol=1e-6)
    activations = noise.numpy() @ kernel  # what the batch norm sees under the averaged weights
    batch_norm = ema.layers[1]
    np.testing.assert_allclose(batch_norm.moving_mean.numpy(), 0.5 * activations.mean(0), rtol=1e-5)
    np.testing.assert_allclose(batch_norm.moving_variance.numpy(), 0.5 + 0.5 * activations.var(0),
                               rtol=1e-5)
    assert not ema.trainable_weights  # no optimizer may reach it


def test_generate_uses_ema_generator_and_sample_is_seeded():
    model = build("hinge", ema_decay=0.5)
    model.fit(real_images(8), batch_size=8, epochs=1, verbose=0)
    z = tf.random.stateless_normal((3, LATENT), seed=(1, 2))
    np.testing.assert_allclose(model.generate(z), model.ema_generator(z), rtol=1e-6)
    assert not np.allclose(model.generate(z), model.generator(z))
    np.testing.assert_array_equal(model.sample(3, seed=4), model.sample(3, seed=4))
    assert not np.allclose(model.sample(3, seed=4), model.sample(3, seed=5))
    assert build("bce").ema_generator is None


def test_augment_hook_sees_reals_and_fakes():
    """An augmentation that blanks every image hides all differences: D scores
    reals and fakes alike and G gets no gradient, so the hook is applied to
    both D inputs and to the fakes of the G step."""
    model = build("bce", augment=lambda images, rng: images * 0.0)
    logs = model.fit(real_images(16), batch_size=8, epochs=1, verbose=0).history
    assert logs["em_estimate"][-1] == pytest.approx(0.0, abs=1e-6)
    assert logs["g_grad_norm"][-1] == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("policy", ["float32", "mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("family", ["bce", "wgan_gp"])
def test_one_step_under_each_precision_policy(policy, family):
    keras.mixed_precision.set_global_policy(policy)
    model = build(family)
    logs = model.fit(real_images(8), batch_size=8, epochs=1, verbose=0).history
    assert all(np.isfinite(values).all() for values in logs.values())
    scaled = policy == "mixed_float16"
    assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer) == scaled
    assert isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer) == scaled
    assert ("loss_scale" in logs) == scaled
    assert model.generate(tf.zeros((2, LATENT))).dtype == tf.float32


def test_float16_overflow_halves_loss_scale_and_skips_the_step():
    """A critic whose gradients overflow float16 once the loss is scaled."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    model = build("bce", discriminator=tiny_discriminator(output_scale=1e4))
    initial_scale = float(model.d_optimizer.dynamic_scale.numpy())
    weights_before = model.discriminator.get_weights()
    logs = model.fit(real_images(8), batch_size=8, epochs=1, verbose=0).history
    assert float(model.d_optimizer.dynamic_scale.numpy()) == initial_scale / 2
    assert logs["loss_scale"][-1] == initial_scale / 2
    assert model.d_optimizer.iterations.numpy() == 0
    for before, after in zip(weights_before, model.discriminator.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_already_wrapped_optimizer_is_kept():
    keras.mixed_precision.set_global_policy("mixed_float16")
    model = gan.GAN(tiny_generator(), tiny_discriminator(), latent_dim=LATENT)
    d_optimizer = keras.optimizers.LossScaleOptimizer(
        keras.optimizers.Adam(1e-3), dynamic_growth_steps=1)
    model.compile(d_optimizer, keras.optimizers.Adam(1e-3))
    assert model.d_optimizer is d_optimizer
    model.fit(real_images(8), batch_size=8, epochs=1, verbose=0)
    assert float(d_optimizer.dynamic_scale.numpy()) == 2 * d_optimizer.initial_scale


def test_state_exists_before_the_first_step_and_round_trips(tmp_path):
    model = build("wgan_gp", ema_decay=0.9)
    assert model.d_optimizer.built and model.g_optimizer.built
    assert len(model.g_optimizer.variables) > 1
    path = tf.train.Checkpoint(model=model, d_optimizer=model.d_optimizer,
                               g_optimizer=model.g_optimizer).save(str(tmp_path / "ckpt"))
    model.fit(real_images(16), batch_size=4, epochs=1, verbose=0)
    model.save(tmp_path / "gan.keras")
    restored = keras.models.load_model(tmp_path / "gan.keras")
    assert type(restored) is gan.WGANGP and restored.gp_weight == 10.0
    assert restored.d_optimizer.iterations.numpy() == 4
    np.testing.assert_allclose(restored.sample(2, seed=0), model.sample(2, seed=0), rtol=1e-6)

    tf.train.Checkpoint(model=model, d_optimizer=model.d_optimizer,
                        g_optimizer=model.g_optimizer).restore(path).assert_consumed()
    assert model.d_optimizer.iterations.numpy() == 0
    assert model.critic_updates.numpy() == 0


@pytest.mark.parametrize("options, message", [
    ({"n_critic": 0}, "n_critic"),
    ({"real_target": 0.0}, "real_target"),
    ({"real_target": 1.5}, "real_target"),
    ({"ema_decay": 1.0}, "ema_decay"),
])
def test_gan_rejects_invalid_options(options, message):
    with pytest.raises(ValueError, match=message):
        gan.GAN(tiny_generator(), tiny_discriminator(), latent_dim=LATENT, **options)


def test_family_specific_validation():
    with pytest.raises(ValueError, match="clip_value"):
        gan.WGANClip(tiny_generator(), tiny_discriminator(), latent_dim=LATENT, clip_value=0)
    with pytest.raises(ValueError, match="gp_weight"):
        gan.WGANGP(tiny_generator(), tiny_discriminator(), latent_dim=LATENT, gp_weight=-1)
    with pytest.raises(TypeError, match="real_target"):
        gan.GAN(tiny_generator(), tiny_discriminator(), loss="hinge", real_target=0.9)
    with pytest.raises(ValueError, match="distinct"):
        optimizer = keras.optimizers.Adam()
        gan.GAN(tiny_generator(), tiny_discriminator(), latent_dim=LATENT).compile(
            optimizer, optimizer)


def test_make_gan_families_and_option_checks():
    classes = {"bce": (gan.GAN, "bce"), "hinge": (gan.GAN, "hinge"), "lsgan": (gan.GAN, "lsgan"),
               "wgan_clip": (gan.WGANClip, "wasserstein"), "wgan_gp": (gan.WGANGP, "wasserstein")}
    for family, (model_class, loss) in classes.items():
        model = gan.make_gan(family, tiny_generator(), tiny_discriminator(), latent_dim=LATENT)
        assert (type(model), model.loss_name) == (model_class, loss)
    assert gan.make_gan("wgan_clip", tiny_generator(), tiny_discriminator(),
                        latent_dim=LATENT).n_critic == 5
    with pytest.raises(ValueError, match="bce.*hinge.*wgan_clip.*wgan_gp"):
        gan.make_gan("relativistic", tiny_generator(), tiny_discriminator())
    for family, option in [("wgan_gp", "clip_value"), ("wgan_clip", "gp_weight"),
                           ("hinge", "real_target"), ("bce", "gp_weight")]:
        with pytest.raises(ValueError, match=option):
            gan.make_gan(family, tiny_generator(), tiny_discriminator(), **{option: 1.0})
    with pytest.raises(ValueError, match="unknown option.*latent_dim"):
        gan.make_gan("bce", tiny_generator(), tiny_discriminator(), learning_rate=1.0)


def test_a_loss_is_chosen_by_name_and_saved_with_the_model(tmp_path):
    model = build("hinge")
    assert model.console_metric_names == ("d_loss", "g_loss")
    assert build("wgan_gp").console_metric_names == ("d_loss", "g_loss", "em_estimate")
    model.fit(real_images(8), batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "gan.keras")
    restored = keras.models.load_model(tmp_path / "gan.keras")
    assert type(restored) is gan.GAN and restored.gan_loss.d is losses.hinge_d_loss
    with pytest.raises(ValueError, match="unknown loss 'focal'.*hinge"):
        gan.GAN(tiny_generator(), tiny_discriminator(), loss="focal")


def test_the_name_hinge_models_were_saved_under_builds_the_hinge_loss():
    model = gan.HingeGAN(tiny_generator(), tiny_discriminator(), latent_dim=LATENT)
    assert model.loss_name == "hinge" and model.real_target is None
    assert gan.HingeGAN.from_config(model.get_config()).loss_name == "hinge"


MIRRORED_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    sys.path.insert(0, sys.argv[1])
    from test_gan import real_images, tiny_discriminator, tiny_generator, LATENT
    from tfgan_replica import gan

    def train(family, steps, strategy, options, batch_norm=False):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            # The GAN draws each step's noise for the global batch: a split batch sees the same z.
            model = gan.make_gan(family, tiny_generator(batch_norm), tiny_discriminator(),
                                 latent_dim=LATENT, noise_seed=3, **options)
            # Plain SGD: unlike Adam, its step shows any error in gradient scale.
            model.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
        initial = [w.numpy() for w in model.trainable_weights]
        logs = model.fit(real_images(8 * steps), batch_size=8, epochs=1,
                         shuffle=False, verbose=0).history
        weights = model.get_weights()
        moved = max(float(np.max(np.abs(a - b.numpy())))
                    for a, b in zip(initial, model.trainable_weights))
        return model, {k: v[-1] for k, v in logs.items()}, weights, moved

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    report = {"replicas": mirrored.num_replicas_in_sync}
    cases = {"bce": ("bce", 1, {"ema_decay": 0.5}, False),
             "wgan_clip": ("wgan_clip", 4, {"n_critic": 2}, False),
             "batch_norm": ("bce", 2, {}, True)}
    for name, (family, steps, options, batch_norm) in cases.items():
        _, single_logs, single, moved = train(
            family, steps, tf.distribute.get_strategy(), options, batch_norm)
        model, logs, weights, _ = train(family, steps, mirrored, options, batch_norm)
        report[name] = {
            "weight_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(single, weights)),
            "moved": moved,
            "d_loss": [single_logs["d_loss"], logs["d_loss"]],
            "g_loss": [single_logs["g_loss"], logs["g_loss"]],
            "g_updates": int(model.g_optimizer.iterations.numpy()),
        }
    with mirrored.scope():
        model = gan.make_gan("wgan_gp", tiny_generator(), tiny_discriminator(),
                             latent_dim=LATENT, n_critic=2, ema_decay=0.9)
        model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    logs = model.fit(real_images(32), batch_size=8, epochs=1, verbose=0).history
    report["wgan_gp_finite"] = bool(all(np.isfinite(v).all() for v in logs.values()))
    report["wgan_gp_g_updates"] = int(model.g_optimizer.iterations.numpy())
    print("RESULT " + json.dumps(report))
""")


def test_mirrored_strategy_step_matches_single_device():
    """Two logical CPUs must be configured before TF starts, hence a subprocess."""
    tests_dir = str(pathlib.Path(__file__).parent)
    result = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT, tests_dir],
                            capture_output=True, text=True, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    report = json.loads(lines[-1][len("RESULT "):])
    assert report["replicas"] == 2
    for name in ("bce", "wgan_clip", "batch_norm"):  # batch norm: over the global batch
        case = report[name]
        assert case["weight_diff"] < 1e-5 and case["moved"] > 1e-3, case
        assert case["d_loss"][0] == pytest.approx(case["d_loss"][1], abs=1e-5)
        assert case["g_loss"][0] == pytest.approx(case["g_loss"][1], abs=1e-5)
    assert report["bce"]["g_updates"] == 1
    assert report["wgan_clip"]["g_updates"] == 2
    assert report["wgan_gp_finite"] and report["wgan_gp_g_updates"] == 2
