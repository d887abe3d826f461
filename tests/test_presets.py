"""Presets: the report rows they encode, and validation before any work."""

import json
import re

import numpy as np
import pytest

from tfgan_replica import presets


def test_every_registered_preset_is_valid_and_round_trips():
    assert {"dcgan_tutorial", "dcgan_improved", "dcgan_svhn", "wgan_clip_mnist", "mlp_bce",
            "quickstart"} <= set(presets.PRESETS)
    for preset in presets.PRESETS.values():
        assert presets.from_dict(preset.to_dict()) == preset
        assert preset.note


def test_report_settings():
    tutorial = presets.get_preset("dcgan_tutorial")
    assert (tutorial.batch_size, tutorial.epochs, tutorial.real_target) == (256, 50, 1.0)
    assert tutorial.d_optimizer == tutorial.g_optimizer == presets.adam(1e-4)
    improved = presets.get_preset("dcgan_improved")
    assert (improved.real_target, improved.epochs) == (0.9, 200)
    wgan = presets.get_preset("wgan_clip_mnist")
    assert (wgan.family, wgan.clip_value, wgan.n_critic, wgan.n_critic_in_step) == (
        "wgan_clip", 0.01, 5, True)  # Algorithm 1 as written, the wgan_clip study's choice
    assert wgan.d_optimizer == wgan.g_optimizer == presets.torch_rmsprop(5e-5)
    assert tutorial.simultaneous and not improved.simultaneous  # the tutorial's own step
    mlp = presets.get_preset("mlp_bce")
    assert (mlp.generator, mlp.discriminator, mlp.batch_size, mlp.epochs) == ("mlp", "mlp", 64, 100)
    assert (mlp.real_target, mlp.d_optimizer) == (1.0, presets.adam(2e-4, epsilon=1e-8))
    report_b = [p for p in presets.PRESETS.values() if p.report == "B"]
    assert {p.dropout for p in report_b if p.discriminator == "mlp"} == {0.3}  # the template's D
    assert presets.get_preset("mlp_conv_hinge_sn").dropout == 0.0
    clip = presets.get_preset("mlp_wgan_clip")
    assert clip.d_optimizer == clip.g_optimizer == presets.rmsprop(5e-5, rho=0.99, epsilon=1e-16)
    assert presets.get_preset("dcgan_svhn").dataset == "svhn"
    cnn, conv = presets.get_preset("cnn_hinge_sn"), presets.get_preset("mlp_conv_hinge_sn")
    assert (cnn.generator, cnn.discriminator, cnn.report) == ("cnn", "conv", "B")
    assert presets.changed_settings(conv.to_dict(), cnn) == ["name", "generator"]
    augmented = presets.get_preset("cnn_hinge_sn_diffaug")
    assert presets.changed_settings(cnn.to_dict(), augmented) == ["name", "diffaug"]
    assert augmented.diffaug == "color,translation,cutout"


def test_the_least_squares_example_is_no_report_row():
    lsgan = presets.get_preset("lsgan_mnist")
    assert (lsgan.family, lsgan.report, lsgan.generator, lsgan.discriminator) == (
        "lsgan", "", "mlp", "mlp")
    assert lsgan.gan_options() == {"latent_dim": 100, "n_critic": 1, "n_critic_in_step": False}


@pytest.mark.parametrize("gradient", [1e-3, 1e-6, 1e-9])
def test_torch_rmsprop_steps_like_pytorch(gradient):
    # PyTorch's first RMSprop step: lr * g / (sqrt((1 - rho) * g^2) + 1e-8). Keras puts its
    # epsilon e under the root; with e = 1e-8^2, sqrt(v + e) lies between
    # (sqrt(v) + 1e-8) / sqrt(2) and sqrt(v) + 1e-8, so Keras' step is at most sqrt(2)
    # larger. Keras' own default epsilon makes small steps orders of magnitude smaller.
    import keras

    def first_step(config):
        weight = keras.Variable(0.0)
        config.build().apply_gradients([(keras.ops.convert_to_tensor(gradient), weight)])
        return -float(weight.numpy())

    torch_step = 1e-2 * gradient / ((0.01 * gradient**2) ** 0.5 + 1e-8)
    ratio = first_step(presets.torch_rmsprop(1e-2)) / torch_step
    assert 1 - 1e-4 <= ratio <= 2**0.5
    if gradient < 1e-5:
        assert first_step(presets.rmsprop(1e-2, rho=0.99)) < 0.01 * torch_step


def test_changed_fields_reads_older_records_with_their_defaults():
    preset = presets.get_preset("mlp_wgan_gp")
    record = json.loads(json.dumps(preset.to_dict()))
    assert presets.changed_fields(record, preset) == []
    record["note"] = "reworded"
    assert presets.changed_fields(record, preset) == []
    for kind in ("d_optimizer", "g_optimizer"):  # recorded before epsilon was a setting
        del record[kind]["epsilon"]
    assert presets.changed_fields(record, preset) == ["d_optimizer", "g_optimizer"]
    keras_default = presets.adam(1e-4, 0.5, 0.9)
    assert presets.changed_fields(
        record, preset.replace(d_optimizer=keras_default, g_optimizer=keras_default)) == []


def test_only_the_description_fields_leave_a_record_current():
    preset = presets.get_preset("mlp_hinge_sn")
    record = preset.to_dict()
    reworded = {**record, **{name: "reworded" for name in presets.DESCRIPTION_FIELDS}}
    assert presets.changed_fields(reworded, preset) == []
    # The catalogue's other fields change no training step but do change a result.
    assert presets.changed_fields({**record, "report": "ours", "cpu_epochs": 7}, preset) == [
        "cpu_epochs", "report"]
    assert presets.changed_settings({**record, "cpu_epochs": 7, "epochs": 7}, preset) == []


def test_the_catalogue_registers_on_import_and_its_notes_hold_no_scores():
    from tfgan_replica import preset_catalogue, report

    assert preset_catalogue.register is presets.register
    for preset in presets.PRESETS.values():
        assert not re.search(r"FID \d|reported", preset.note), preset.name
        for published in report.PUBLISHED.get(preset.name, {}).values():
            assert f"{published:.2f}" not in preset.note, preset.name


def test_unknown_preset_lists_the_names():
    with pytest.raises(ValueError, match="unknown preset 'nope'.*mlp_bce"):
        presets.get_preset("nope")


def test_replace_applies_and_validates():
    preset = presets.get_preset("mlp_bce").replace(epochs=3, real_target=0.9)
    assert (preset.epochs, preset.real_target) == (3, 0.9)
    assert presets.get_preset("mlp_bce").epochs == 100  # the registry is untouched


@pytest.mark.parametrize("overrides, problem", [
    (dict(n_critic=0), "n_critic must be >= 1"),
    (dict(real_target=0.0), r"real_target must be in \(0, 1\]"),
    (dict(real_target=1.5), r"real_target must be in \(0, 1\]"),
    (dict(family="wgan_clip", clip_value=0.01, gp_weight=10.0), "alternatives"),
    (dict(family="wgan_clip"), "needs clip_value"),
    (dict(family="wgan_gp", gp_weight=10.0, clip_value=0.01), "alternatives"),
    (dict(family="hinge", real_target=0.9), "only to the 'bce' family"),
    (dict(family="lsgan", real_target=0.9), "only to the 'bce' family"),
    (dict(family="wgan_clip", clip_value=0.0), "clip_value must be > 0"),
    (dict(family="relativistic"), "unknown family 'relativistic'"),
    (dict(dataset="svhn"), "generator 'mlp' draws .*28, 28, 1.* but 'svhn'"),
    (dict(dataset="svhn", generator="dcgan_svhn", discriminator="dcgan_improved"),
     "discriminator 'dcgan_improved' takes"),
    (dict(generator="resnet"), "unknown generator 'resnet'"),
    (dict(diffaug="color,zoom"), "diffaug: .*zoom"),
    (dict(ema_decay=1.0), "ema_decay"),
    (dict(spectral_norm_output=False), "needs spectral_norm=True"),
    (dict(sigmoid_output=True), "the 'bce' loss applies the sigmoid itself"),
    (dict(dropout=1.0), r"dropout must be in \[0, 1\)"),
    (dict(discriminator="dcgan_improved"),
         r"discriminator 'dcgan_improved' has no dropout option; it belongs to \['mlp', 'conv'\]"),
    (dict(d_batch_norm=False), "discriminator 'mlp' has no batch norm to switch off"),
    (dict(d_builtin_dropout=False), "discriminator 'mlp' has no dropout layers of its own"),
    (dict(batch_size=0), "must be positive"),
    (dict(d_optimizer="adam"), "must be an OptimizerConfig"),
    (dict(epoch=3), r"unknown preset field\(s\) \['epoch'\]"),
])
def test_invalid_combinations_fail_with_a_clear_message(overrides, problem):
    with pytest.raises(ValueError, match=problem):
        presets.get_preset("mlp_bce").replace(**overrides)


def test_svhn_preset_accepts_its_own_networks_and_shape_free_discriminators():
    svhn = presets.get_preset("dcgan_svhn")
    assert svhn.replace(discriminator="conv").discriminator == "conv"
    assert svhn.replace(discriminator="mlp").discriminator == "mlp"


def test_optimizer_config_builds_and_validates():
    assert presets.rmsprop(5e-5).build().__class__.__name__ == "RMSprop"
    adam = presets.adam(2e-4, beta_1=0.5).build()
    assert adam.beta_1 == 0.5
    with pytest.raises(ValueError, match="unknown optimizer 'sgd'"):
        presets.OptimizerConfig("sgd")
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        presets.adam(0.0)
    with pytest.raises(ValueError, match="decay_steps must be >= 1"):
        presets.OptimizerConfig(decay_steps=0)


def test_decay_steps_lowers_the_applied_rate_linearly_to_zero():
    import keras

    optimizer = presets.OptimizerConfig("rmsprop", 1e-3, decay_steps=4).build()
    weight = keras.Variable([1.0])
    rates, weights = [], []
    for _ in range(6):
        rates.append(float(optimizer.learning_rate))
        optimizer.apply_gradients([(keras.ops.ones_like(weight), weight)])
        weights.append(float(weight.numpy()[0]))
    np.testing.assert_allclose(rates, [1e-3, 7.5e-4, 5e-4, 2.5e-4, 0.0, 0.0], atol=1e-12)
    steps = -np.diff([1.0] + weights)  # RMSProp on a constant gradient 1: rate / sqrt(v)
    v = 1 - 0.9 ** np.arange(1, 7)
    np.testing.assert_allclose(steps, np.array(rates) / np.sqrt(v), rtol=1e-4, atol=1e-9)


def test_register_refuses_a_duplicate_name():
    with pytest.raises(ValueError, match="already registered"):
        presets.register(presets.get_preset("mlp_bce"))
