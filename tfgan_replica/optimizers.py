"""Adam with its update fused into one kernel per variable.

Keras' Adam updates a variable with about ten elementwise ops, each a full pass over
the weights; on the MLP GANs' 3M weights at batch 64 those passes, not the matmuls,
set much of a step's time on a CPU. TensorFlow's `ResourceApplyAdam` kernel computes
the same update in one pass:

    m += (g - m) (1 - beta_1);  v += (g^2 - v) (1 - beta_2)
    w -= lr sqrt(1 - beta_2^t) / (1 - beta_1^t) m / (sqrt(v) + epsilon)

which is Keras' formula term for term (epsilon added to sqrt(v)), so the weights
after any number of steps equal Keras' Adam's to float32 rounding (tests/test_optimizers).
The slot variables are Keras' own, so checkpoints of either optimizer load into the
other.
"""

import keras
import tensorflow as tf


def _handle(variable):
    """The resource handle of a Keras or TF variable (the replica's own copy inside a
    `tf.distribute` update)."""
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle


@keras.saving.register_keras_serializable(package="tfgan_replica")
class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` whose per-variable update is one fused kernel.

    AMSGrad has no fused kernel here: it is refused rather than computed differently.
    """

    def __init__(self, *args, amsgrad=False, **kwargs):
        if amsgrad:
            raise ValueError("FusedAdam has no AMSGrad variant; use keras.optimizers.Adam")
        super().__init__(*args, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(self._momentums[index]),
            v=_handle(self._velocities[index]),
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype))
