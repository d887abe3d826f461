"""Cross-replica building blocks: which rows of a global-batch tensor each replica keeps."""

import json
import subprocess
import sys
import textwrap

import tensorflow as tf

from tfgan_replica import replicas

TWO_REPLICAS_SCRIPT = textwrap.dedent("""
    import json
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from tfgan_replica import replicas

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    rows = strategy.run(tf.function(
        lambda: replicas.local_rows(tf.reshape(tf.range(12), (6, 2)), 3)))
    local = [r.numpy().tolist() for r in strategy.experimental_local_results(rows)]
    print("RESULT " + json.dumps(local))
""")


def test_one_replica_keeps_every_row():
    tensor = tf.reshape(tf.range(12), (6, 2))
    assert replicas.local_rows(tensor, 6) is tensor


def test_each_of_two_replicas_keeps_its_consecutive_rows():
    """Two logical CPUs must be configured before TF starts, hence a subprocess."""
    result = subprocess.run([sys.executable, "-c", TWO_REPLICAS_SCRIPT],
                            capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    first, second = json.loads(lines[-1][len("RESULT "):])
    assert first == [[0, 1], [2, 3], [4, 5]]
    assert second == [[6, 7], [8, 9], [10, 11]]
