"""Scan fixtures for test/scan.test.ts, built with onnx.helper (PyTorch never exports Scan; tf2onnx
and hand-built graphs do). Run with Debian's python3 (python3-onnx):

    /usr/bin/python3 tools/controlflow/make_scan_models.py

scan_rnn_op11.onnx: x (N, 5, 3) float64. h0 = tanh(mean_t(x)·W0); a Scan over time with one state h
and two scan inputs, x forward and x reversed (both on axis 1):
    h' = tanh(h·Wh + xf·Wf + xr·Wr + bias)     (bias: a Constant node inside the body)
outputs: the final h, Y = h' per step stacked on axis 1 (N, 5, 4), and Y2 = h' ⊙ (xf·Wf) per step
stacked in reverse order on axis -3 (5, N, 4). Values inside the body read W* from the outer scope.
"""
import os
import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

rng = np.random.default_rng(7)
D, H, STEPS = 3, 4, 5
here = os.path.dirname(os.path.abspath(__file__))
out_dir = os.path.join(here, '..', '..', 'test', 'fixtures', 'controlflow')


def init(name, shape):
    return nh.from_array((rng.standard_normal(shape) * 0.6).astype(np.float64), name)


body = h.make_graph(
    [
        h.make_node('Constant', [], ['bias'], value=nh.from_array((rng.standard_normal(H) * 0.1).astype(np.float64), 'bias_value')),
        h.make_node('MatMul', ['h_in', 'Wh'], ['hw']),
        h.make_node('MatMul', ['xf', 'Wf'], ['fw']),
        h.make_node('MatMul', ['xr', 'Wr'], ['rw']),
        h.make_node('Sum', ['hw', 'fw', 'rw', 'bias'], ['pre']),
        h.make_node('Tanh', ['pre'], ['h_out']),
        h.make_node('Identity', ['h_out'], ['y']),
        h.make_node('Mul', ['h_out', 'fw'], ['y2']),
    ],
    'step',
    [
        h.make_tensor_value_info('h_in', T.DOUBLE, ['N', H]),
        h.make_tensor_value_info('xf', T.DOUBLE, ['N', D]),
        h.make_tensor_value_info('xr', T.DOUBLE, ['N', D]),
    ],
    [
        h.make_tensor_value_info('h_out', T.DOUBLE, ['N', H]),
        h.make_tensor_value_info('y', T.DOUBLE, ['N', H]),
        h.make_tensor_value_info('y2', T.DOUBLE, ['N', H]),
    ],
)

graph = h.make_graph(
    [
        h.make_node('ReduceMean', ['x'], ['xm'], axes=[1], keepdims=0),
        h.make_node('MatMul', ['xm', 'W0'], ['h0pre']),
        h.make_node('Tanh', ['h0pre'], ['h0']),
        h.make_node(
            'Scan',
            ['h0', 'x', 'x'],
            ['h_final', 'Y', 'Y2'],
            name='/rnn/Scan',
            body=body,
            num_scan_inputs=2,
            scan_input_axes=[1, 1],
            scan_input_directions=[0, 1],
            scan_output_axes=[1, -3],
            scan_output_directions=[0, 1],
        ),
    ],
    'scan_rnn',
    [h.make_tensor_value_info('x', T.DOUBLE, ['N', STEPS, D])],
    [
        h.make_tensor_value_info('h_final', T.DOUBLE, ['N', H]),
        h.make_tensor_value_info('Y', T.DOUBLE, ['N', STEPS, H]),
        h.make_tensor_value_info('Y2', T.DOUBLE, [STEPS, 'N', H]),
    ],
    [init('W0', (D, H)), init('Wh', (H, H)), init('Wf', (D, H)), init('Wr', (D, H))],
)
model = h.make_model(graph, opset_imports=[h.make_opsetid('', 11)], producer_name='gibbon-fixtures')
model.ir_version = 6
onnx.checker.check_model(model)
os.makedirs(out_dir, exist_ok=True)
onnx.save(model, os.path.join(out_dir, 'scan_rnn_op11.onnx'))

# A reference forward in numpy, so the test can check onnxruntime and the unrolled graph against it.
x = rng.standard_normal((2, STEPS, D))
W = {t.name: nh.to_array(t) for t in graph.initializer}
bias = nh.to_array(body.node[0].attribute[0].t)
hs = np.tanh(x.mean(axis=1) @ W['W0'])
ys, y2s = [], []
for t in range(STEPS):
    fw = x[:, t] @ W['Wf']
    hs = np.tanh(hs @ W['Wh'] + fw + x[:, STEPS - 1 - t] @ W['Wr'] + bias)
    ys.append(hs)
    y2s.append(hs * fw)
np.save(os.path.join(out_dir, 'scan_rnn_x.npy'), x)
np.save(os.path.join(out_dir, 'scan_rnn_h_final.npy'), hs)
np.save(os.path.join(out_dir, 'scan_rnn_Y.npy'), np.stack(ys, axis=1))
np.save(os.path.join(out_dir, 'scan_rnn_Y2.npy'), np.stack(y2s[::-1], axis=0))
print('wrote', out_dir)
