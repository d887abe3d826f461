"""Dynamic loss scaling for the mixed_float16 policy.

Small float16 gradients underflow to zero. Keras' `LossScaleOptimizer`
multiplies the loss by a dynamic scale before differentiation, divides the
gradients by it in `apply_gradients`, and skips (and halves the scale on) steps
whose gradients overflow. A GAN step differentiates its two losses itself, not
through `compile`'s loss, so it scales them with the functions here.
"""

import keras
import tensorflow as tf

from tfgan_replica.replicas import replica_share


def scales_loss(optimizer):
    """Whether `optimizer` expects a loss-scaled loss."""
    return isinstance(optimizer, keras.optimizers.LossScaleOptimizer)


def with_loss_scaling(optimizer):
    """`optimizer`, wrapped for dynamic loss scaling when the policy is mixed_float16."""
    needs_scaling = keras.mixed_precision.global_policy().name == "mixed_float16"
    if needs_scaling and not scales_loss(optimizer):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def loss_scale(optimizer):
    """The factor `optimizer` scales the loss by: 1 without loss scaling."""
    if scales_loss(optimizer):
        return optimizer.dynamic_scale
    return tf.constant(1.0)


def scaled_loss(loss, optimizer):
    """The loss to differentiate: this replica's share of `loss`, loss-scaled."""
    return optimizer.scale_loss(replica_share(loss))


def gradient_norm(grads, optimizer):
    """The norm of the gradients of this replica's mean loss, from `grads` of its
    `scaled_loss` (which divides by the replica count and multiplies by the scale)."""
    unscale = (tf.distribute.get_strategy().num_replicas_in_sync
               / tf.cast(loss_scale(optimizer), tf.float32))
    return tf.linalg.global_norm([g for g in grads if g is not None]) * unscale
