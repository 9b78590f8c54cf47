"""NAS-Bench-101's record format, for reading `nasbench_only108.tfrecord` (or
`nasbench_full.tfrecord`) when the official `nasbench` package is not installed.

Each TFRecord is the UTF-8 JSON list `[module_hash, epochs, raw_adjacency, raw_operations,
raw_metrics]`: the adjacency as a string of '0'/'1' (dim² characters, row-major), the
operations comma-separated ('input', 'conv3x3-bn-relu', 'conv1x1-bn-relu', 'maxpool3x3',
'output'), and the base64 of a serialised `nasbench.ModelMetrics` protobuf, declared below
exactly as google-research/nasbench's `nasbench/lib/model_metrics.proto` (proto2):

    message ModelMetrics { repeated EvaluationData evaluation_data = 1;
                           optional double trainable_parameters = 2;
                           optional double total_time = 3; }
    message EvaluationData { optional double current_epoch = 1; optional double training_time = 2;
                             optional double train_accuracy = 3; optional double validation_accuracy = 4;
                             optional double test_accuracy = 5; optional string checkpoint_path = 6; }

`evaluation_data` holds the evaluations at the start, half-way and end of training; the
official API reads [1] and [2]. `read_dataset` returns what `nasbench.api.NASBench` builds:
per module hash its fixed statistics (adjacency, operations, trainable_parameters) and per
epoch budget a list of data points (one per training repeat).
"""
import base64
import json


def model_metrics_class():
    """The `nasbench.ModelMetrics` message class: the official generated module when the
    nasbench package is installed, else the same message declared at runtime."""
    try:
        from nasbench.lib import model_metrics_pb2  # the official one

        return model_metrics_pb2.ModelMetrics
    except ImportError:
        pass
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="swapnas_nb101_model_metrics.proto", package="nasbench", syntax="proto2")
    ev = fdp.message_type.add(name="EvaluationData")
    for number, name in enumerate(("current_epoch", "training_time", "train_accuracy", "validation_accuracy", "test_accuracy"), 1):
        ev.field.add(name=name, number=number, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
    ev.field.add(name="checkpoint_path", number=6, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    mm = fdp.message_type.add(name="ModelMetrics")
    mm.field.add(name="evaluation_data", number=1, type=F.TYPE_MESSAGE, type_name=".nasbench.EvaluationData", label=F.LABEL_REPEATED)
    mm.field.add(name="trainable_parameters", number=2, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
    mm.field.add(name="total_time", number=3, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("nasbench.ModelMetrics"))


def parse_record(serialized, model_metrics):
    """One record → (module_hash, epochs, adjacency rows, operations, ModelMetrics)."""
    module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = json.loads(serialized.decode("utf-8"))
    dim = int(round(len(raw_adjacency) ** 0.5))
    if dim * dim != len(raw_adjacency) or set(raw_adjacency) - {"0", "1"}:
        raise ValueError(f"module {module_hash}: adjacency {raw_adjacency!r} is not a square 0/1 matrix")
    adjacency = [[int(raw_adjacency[r * dim + c]) for c in range(dim)] for r in range(dim)]
    operations = raw_operations.split(",")
    if len(operations) != dim:
        raise ValueError(f"module {module_hash}: {len(operations)} operations for {dim} vertices")
    metrics = model_metrics.FromString(base64.b64decode(raw_metrics))
    return module_hash, int(epochs), adjacency, operations, metrics


def read_dataset(path):
    """(fixed, computed) as `nasbench.api.NASBench` builds them, read with TensorFlow's
    TFRecord reader (which checks every record's CRCs)."""
    import tensorflow as tf

    model_metrics = model_metrics_class()
    fixed, computed = {}, {}
    for serialized in tf.data.TFRecordDataset(path).as_numpy_iterator():
        module_hash, epochs, adjacency, operations, metrics = parse_record(serialized, model_metrics)
        if module_hash not in fixed:
            fixed[module_hash] = {
                "module_adjacency": adjacency,
                "module_operations": operations,
                "trainable_parameters": metrics.trainable_parameters,
            }
        if len(metrics.evaluation_data) < 3:
            raise ValueError(f"module {module_hash}: {len(metrics.evaluation_data)} evaluations, 3 expected")
        final = metrics.evaluation_data[2]
        computed.setdefault(module_hash, {}).setdefault(epochs, []).append(
            {
                "final_training_time": final.training_time,
                "final_train_accuracy": final.train_accuracy,
                "final_validation_accuracy": final.validation_accuracy,
                "final_test_accuracy": final.test_accuracy,
            }
        )
    return fixed, computed
