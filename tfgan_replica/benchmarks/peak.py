"""How close to the machine's limit a workload runs: FLOPs a step, and the matmul peak.

FLOPs are counted on the traced graph of the step with TensorFlow's profiler, which
counts 2 per multiply-add of every matmul and convolution (forward and gradient) and
one per element of the elementwise ops; ops it has no count for (resizing, batch
norm's fused kernels, random numbers) add nothing, so the count is a lower bound
dominated by the matmuls and convolutions. The peak is that of one large matmul in
float32 and in bfloat16, timed in the same process as the workloads. A workload's own
matmuls, run alone at their own shapes (`step_matmuls_arm`), show how near that peak a
step of small matmuls can come at all.
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.python.profiler import model_analyzer, option_builder

from tfgan_replica.benchmarks import paired

PEAK_SIZE = 2048  # large enough to run at the matmul kernels' full speed on a CPU
PEAK_DTYPES = ("float32", "bfloat16")


def graph_flops(concrete_function):
    """Floating-point operations of one call of a traced `tf.function`."""
    options = (option_builder.ProfileOptionBuilder(
        option_builder.ProfileOptionBuilder.float_operation()).with_empty_output().build())
    return model_analyzer.profile(concrete_function.graph, options=options).total_float_ops


def call_flops(fn, *input_specs):
    """FLOPs of `fn(*inputs)` for inputs of the given `tf.TensorSpec`s (static shapes).

    `fn` is traced as Keras traces a `train_step`, without AutoGraph: its Python runs once.
    """
    return graph_flops(tf.function(fn, autograph=False).get_concrete_function(*input_specs))


def matmul_arm(dtype, size=PEAK_SIZE):
    """An arm of one (size x size) @ (size x size) product a step, 2 * size**3 FLOPs."""
    a = tf.cast(tf.random.stateless_normal((size, size), seed=(0, 0)), dtype)
    b = tf.cast(tf.random.stateless_normal((size, size), seed=(0, 1)), dtype)
    matmul = tf.function(tf.matmul)
    return paired.LoopArm(f"matmul_{dtype}", lambda: lambda: matmul(a, b), 1, dtype)


def measure_peak(pairs=3, window_seconds=4.0, print_fn=print):
    """Matmul GFLOP/s of each dtype in `PEAK_DTYPES`, over `pairs` interleaved pairs:
    {dtype: Spread}."""
    arms = [matmul_arm(dtype) for dtype in PEAK_DTYPES]
    result = paired.run_workload(
        f"Matmul peak ({PEAK_SIZE}x{PEAK_SIZE})", arms, [], pairs, window_seconds,
        flops_per_step=2 * PEAK_SIZE ** 3, unit="products", print_fn=print_fn)
    return {arm.dtype: result.gflops[arm.name] for arm in arms}


def matmul_shapes(concrete_function):
    """[(a's shape, b's shape, transpose_a, transpose_b)] of every MatMul in a traced
    function's graph (its forward and its gradient ops alike), in graph order."""
    return [(tuple(op.inputs[0].shape.as_list()), tuple(op.inputs[1].shape.as_list()),
             op.get_attr("transpose_a"), op.get_attr("transpose_b"))
            for op in concrete_function.graph.get_operations() if op.type == "MatMul"]


def step_matmuls_arm(name, shapes, items_per_step):
    """An arm whose step is one product of each of `shapes` (`matmul_shapes` of a workload's
    step) on constant inputs, and nothing else: the speed the workload's step would have
    if all but its matmuls were free. The step returns one element of each product, so
    every product is computed and read back for the price of a few scalars."""
    operands = [(tf.random.stateless_normal(a, seed=(index, 0)),
                 tf.random.stateless_normal(b, seed=(index, 1)), transpose_a, transpose_b)
                for index, (a, b, transpose_a, transpose_b) in enumerate(shapes)]

    @tf.function
    def step():
        return tf.add_n([tf.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b)[0, 0]
                         for a, b, transpose_a, transpose_b in operands])

    return paired.LoopArm(name, lambda: step, items_per_step)
