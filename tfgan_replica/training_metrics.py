"""What a GAN's train steps record: epoch means for Keras, each step's value for TensorBoard.

A step records d_loss, g_loss, d_real and d_fake (mean critic logits), em_estimate
(d_real - d_fake), d_grad_norm and g_grad_norm, a model's own extra metrics, and under
mixed_float16 loss_scale and g_loss_scale. Each goes to a Keras `Mean` (what `fit`
reports and resets each epoch) and to a `LastValue` (what `callbacks.MetricsLogger`
writes for the step). Generator metrics average over generator updates only.
"""

import keras
import tensorflow as tf

from tfgan_replica import loss_scaling
from tfgan_replica.errors import InputError
from tfgan_replica.replicas import run_if

NAMES = ("d_loss", "g_loss", "d_real", "d_fake", "em_estimate", "d_grad_norm", "g_grad_norm")
LOSS_SCALE_NAMES = ("loss_scale", "g_loss_scale")


class LastValue(keras.metrics.Metric):
    """The latest step's value of a training metric (the mean over replicas when read).

    The trackers give Keras epoch-to-date means; TensorBoard wants what one step did.
    """

    def __init__(self, name, **kwargs):
        super().__init__(name=name, **kwargs)
        self.value = self.add_variable((), "zeros", aggregation="mean", name="value")

    def update_state(self, value):
        self.value.assign(tf.cast(value, self.dtype))

    def result(self):
        return self.value

    def reset_state(self):
        self.value.assign(0.0)


class TrainingMetrics:
    """The metrics of `NAMES` and `extra_names`, each as an epoch mean and a step value.

    Gradient norms are taken on every `grad_norm_every`-th train step only, the steps
    whose values are logged: a norm reads every gradient once, ~2% of an MLP step.
    Build it where the model's variables are built (inside a strategy's scope).
    """

    def __init__(self, extra_names=(), grad_norm_every=1):
        if int(grad_norm_every) != grad_norm_every or grad_norm_every < 1:
            raise InputError(f"grad_norm_every must be an integer >= 1, got {grad_norm_every}")
        self.grad_norm_every = int(grad_norm_every)
        names = (*NAMES, *extra_names, *LOSS_SCALE_NAMES)
        self.means = {name: keras.metrics.Mean(name=name) for name in names}
        self.step_values = {name: LastValue(name=f"step_{name}") for name in names}

    def trackers(self, loss_scaled):
        """The means `fit` reports: the loss scales' only when a loss is scaled."""
        return [mean for name, mean in self.means.items()
                if loss_scaled or name not in LOSS_SCALE_NAMES]

    def step_value(self, name):
        """The value metric `name` took in the latest step that recorded it."""
        return self.step_values[name].result()

    def record(self, name, value, sample_weight=None):
        self.means[name].update_state(value, sample_weight=sample_weight)
        self.step_values[name].update_state(value)

    def record_grad_norm(self, name, grads, optimizer, step):
        """Records the norm of `grads` as metric `name` if train step `step` is logged."""
        if self.grad_norm_every == 1:
            self._record_norm(name, grads, optimizer)
        else:
            run_if(tf.equal(step % self.grad_norm_every, 0),
                   self._record_norm, name, grads, optimizer)

    def _record_norm(self, name, grads, optimizer):
        """The norm as if for this replica's mean loss; the epoch means leave out steps
        skipped by loss scaling."""
        norm = loss_scaling.gradient_norm(grads, optimizer)
        finite = tf.math.is_finite(norm)
        self.record(name, tf.where(finite, norm, 0.0), tf.cast(finite, tf.float32))
