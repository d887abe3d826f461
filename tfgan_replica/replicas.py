"""Cross-replica building blocks for a train_step that runs under tf.distribute.

A GAN step updates two networks conditionally (the generator every n-th step)
and assigns weights outside the optimizers (clipping, EMA); under
MirroredStrategy both must go through the strategy, as optimizers do. Under
MultiWorkerMirroredStrategy one worker, the chief, writes the run's files and all
workers take part in every collective (the step, reads of metrics, a stop).
"""

import tensorflow as tf


def multi_worker(strategy=None):
    """True when `strategy` (default: the current one) spans more than one worker."""
    strategy = strategy or tf.distribute.get_strategy()
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def is_chief(strategy):
    """Whether this process writes the run's files: always, except on a non-chief worker
    (the chief is task 'chief', or worker 0 when the cluster has no 'chief')."""
    if not multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type in (None, "chief") or (
        task_type == "worker" and task_id == 0 and "chief" not in resolver.cluster_spec().as_dict())


def reducible(logs):
    """`train_step` logs Keras can reduce over workers: it takes their mean along axis 0,
    which a scalar does not have, so under multi-worker each value becomes shape (1,)."""
    if not multi_worker():
        return logs
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}


def any_worker(flag, strategy):
    """True on every worker when `flag` is True on at least one (a collective: all
    workers must call it at the same point)."""
    if not multi_worker(strategy):
        return flag
    votes = strategy.run(lambda: tf.distribute.get_replica_context().all_reduce(
        tf.distribute.ReduceOp.SUM, tf.constant(float(flag))))
    return bool(strategy.experimental_local_results(votes)[0] > 0)


def replica_share(loss):
    """This replica's share of the global-batch mean of `loss`."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / replicas if replicas > 1 else loss


def local_rows(tensor, rows_per_replica):
    """This replica's rows of a `tensor` made for the global batch: replica i
    holds rows i * rows_per_replica to (i + 1) * rows_per_replica."""
    if tf.distribute.get_strategy().num_replicas_in_sync == 1:
        return tensor
    replica = tf.distribute.get_replica_context().replica_id_in_sync_group
    return tensor[replica * rows_per_replica:(replica + 1) * rows_per_replica]


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
