"""Cross-replica building blocks for a train_step that runs under tf.distribute.

A GAN step updates two networks conditionally (the generator every n-th step)
and assigns weights outside the optimizers (clipping, EMA); under
MirroredStrategy both must go through the strategy, as optimizers do.
"""

import tensorflow as tf


def replica_share(loss):
    """This replica's share of the global-batch mean of `loss`."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / replicas if replicas > 1 else loss


def run_if(predicate, fn, *args):
    """Run `fn(*args)` when `predicate` holds, inside a traced step.

    Under MirroredStrategy a `tf.cond` branch taken in a replica may not
    synchronise replicas, as `apply_gradients` does. There the condition is
    evaluated in cross-replica context and `fn` is run on every replica from
    it (Keras' LossScaleOptimizer does the same for its finite-step check).
    """
    if tf.__internal__.distribute.strategy_supports_no_merge_call():
        tf.cond(predicate, lambda: fn(*args), lambda: None)
        return

    def cross_replica(strategy, predicate, *args):
        first_replica_predicate = strategy.experimental_local_results(predicate)[0]
        tf.cond(first_replica_predicate,
                lambda: strategy.extended.call_for_each_replica(fn, args=args),
                lambda: None)

    tf.distribute.get_replica_context().merge_call(
        cross_replica, args=(predicate, *args))


def assign_each(targets, new_value, *sources):
    """Set every `targets[i]` to `new_value(targets[i], sources[0][i], ...)`.

    Mirrored variables cannot be assigned from a replica, so the assignment
    goes through the strategy's `update`, the way optimizers apply gradients.
    """
    def assign(target, *source_values):
        return target.assign(new_value(target, *source_values))

    def update_all(strategy):
        for target, *source in zip(targets, *sources):
            strategy.extended.update(
                target.value, assign, args=tuple(s.value for s in source),
                group=False)

    tf.__internal__.distribute.interim.maybe_merge_call(
        update_all, tf.distribute.get_strategy())
