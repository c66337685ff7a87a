# opencv_worker.py: OpenCV DNN side of bench/compare: the ONNX export, one timed inference per
# "run" line on stdin. argv: MODEL.onnx THREADS INPUT.npy
import sys
import time

import cv2
import numpy as np

model, threads, inp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cv2.setNumThreads(threads)
net = cv2.dnn.readNetFromONNX(model)
net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
x = np.load(inp)
net.setInput(x)
net.forward()
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "quit":
        break
    t0 = time.perf_counter()
    net.setInput(x)
    net.forward()
    print((time.perf_counter() - t0) * 1e3, flush=True)
