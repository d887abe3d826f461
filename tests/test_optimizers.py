"""FusedAdam computes Keras' Adam: closed form, equality over many steps, checkpoints, replicas."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_replica import optimizers

SHAPES = [(7, 5), (5,), (3, 4, 2)]


def _variables(seed=0):
    rng = np.random.default_rng(seed)
    return [tf.Variable(rng.normal(size=shape).astype("float32")) for shape in SHAPES]


def _gradients(step):
    rng = np.random.default_rng(100 + step)
    return [tf.constant(rng.normal(size=shape).astype("float32")) for shape in SHAPES]


def _train(optimizer, steps):
    variables = _variables()
    apply = tf.function(lambda grads: optimizer.apply_gradients(zip(grads, variables)))
    for step in range(steps):
        apply(_gradients(step))
    return [v.numpy() for v in variables]


def test_one_step_is_adams_formula():
    lr, beta_1, beta_2, epsilon = 1e-2, 0.5, 0.9, 1e-8
    weights = _train(optimizers.FusedAdam(lr, beta_1, beta_2, epsilon), 1)[0]
    start, grad = _variables()[0].numpy(), _gradients(0)[0].numpy()
    m = (1 - beta_1) * grad
    v = (1 - beta_2) * grad ** 2
    expected = start - lr * np.sqrt(1 - beta_2) / (1 - beta_1) * m / (np.sqrt(v) + epsilon)
    np.testing.assert_allclose(weights, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("learning_rate", [
    3e-3, keras.optimizers.schedules.PolynomialDecay(3e-3, 20, end_learning_rate=0.0)])
def test_equals_keras_adam_over_many_steps(learning_rate):
    settings = dict(learning_rate=learning_rate, beta_1=0.5, beta_2=0.9, epsilon=1e-8)
    fused = _train(optimizers.FusedAdam(**settings), 30)
    plain = _train(keras.optimizers.Adam(**settings), 30)
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(fused[0], _variables()[0].numpy())  # the weights moved


def test_equals_keras_adam_to_the_last_bit_on_gradients_of_every_scale():
    rng = np.random.default_rng(0)
    start = rng.normal(size=10_000).astype("float32")
    scales = 10.0 ** rng.uniform(-12, 0, size=(5, start.size))  # rounding-level to large
    gradients = (rng.normal(size=scales.shape) * scales).astype("float32")

    def train(optimizer):
        weights = tf.Variable(start)
        apply = tf.function(lambda grad: optimizer.apply_gradients([(grad, weights)]))
        for grad in gradients:
            apply(tf.constant(grad))
        return weights.numpy()

    settings = dict(learning_rate=2e-4, beta_1=0.5, epsilon=1e-8)
    fused = train(optimizers.FusedAdam(**settings))
    np.testing.assert_allclose(fused, train(keras.optimizers.Adam(**settings)), rtol=0,
                               atol=2 * np.spacing(np.abs(start).max()))  # two ulps


def test_a_keras_adam_checkpoint_restores_into_fused_adam(tmp_path):
    variables = _variables()
    keras_adam = keras.optimizers.Adam(1e-3)
    keras_adam.apply_gradients(zip(_gradients(0), variables))
    path = tf.train.Checkpoint(optimizer=keras_adam).save(str(tmp_path / "ckpt"))
    fused = optimizers.FusedAdam(1e-3)
    fused.build(_variables())
    tf.train.Checkpoint(optimizer=fused).restore(path).assert_existing_objects_matched()
    for a, b in zip(fused.variables, keras_adam.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_amsgrad_is_refused():
    with pytest.raises(ValueError, match="AMSGrad"):
        optimizers.FusedAdam(amsgrad=True)


def test_loss_scaling_wraps_it():
    optimizer = keras.optimizers.LossScaleOptimizer(optimizers.FusedAdam(1e-2))
    variables = _variables()
    optimizer.apply_gradients(zip(_gradients(0), variables))
    assert not np.allclose(variables[0].numpy(), _variables()[0].numpy())


TWO_REPLICAS_SCRIPT = textwrap.dedent("""
    import json
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from tfgan_replica import optimizers

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        weight = tf.Variable([1.0, -2.0])
        optimizer = optimizers.FusedAdam(0.1)
        optimizer.build([weight])

    @tf.function
    def step():
        def replica_step():
            context = tf.distribute.get_replica_context()
            grad = tf.cast(context.replica_id_in_sync_group + 1, tf.float32) * tf.ones(2)
            optimizer.apply_gradients([(grad, weight)])
        strategy.run(replica_step)

    step()
    print("RESULT " + json.dumps([v.numpy().tolist() for v in strategy.experimental_local_results(weight)]))
""")


def test_each_replica_applies_the_summed_gradient():
    """Under MirroredStrategy the replicas' gradients (1 and 2) are summed, and every copy
    of the weight takes the same fused update: Adam's first step moves each weight by lr."""
    result = subprocess.run([sys.executable, "-c", TWO_REPLICAS_SCRIPT],
                            capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    first, second = json.loads(lines[-1][len("RESULT "):])
    np.testing.assert_allclose(first, [0.9, -2.1], rtol=1e-5)
    assert first == second
