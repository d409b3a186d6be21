"""The zoo's constant_weights_op11.onnx (weights held by Constant nodes, as paddle2onnx writes them)
rewritten the ordinary way, with every Constant node's tensor as an initializer: the reference that
gibbon's lifting of Constant weights (src/onnx/lift-constants.ts) is tested against.

Run from the repository root with Debian's python3 (onnx 1.12):
    /usr/bin/python3 tools/quant/constant_weights_as_initializers.py
"""
import onnx

src = "test/fixtures/zoo/constant_weights_op11.onnx"
out = "test/fixtures/lift/constant_weights_initializers.onnx"
m = onnx.load(src)
kept = []
for n in m.graph.node:
    if n.op_type == "Constant":
        t = onnx.helper.get_attribute_value(n.attribute[0])
        t.name = n.output[0]
        m.graph.initializer.append(t)
    else:
        kept.append(n)
del m.graph.node[:]
m.graph.node.extend(kept)
onnx.checker.check_model(m)
onnx.save(m, out)
print("wrote", out, "with", len(m.graph.initializer), "initializers")
