#!/usr/bin/python3
"""Trains the bundled Fashion-MNIST CNN and exports it to ONNX.

Runs offline on Debian's packages: python3-torch and dataset-fashion-mnist,
with the system interpreter (/usr/bin/python3). The exported model is
committed as examples/fashion_mnist_cnn.onnx; rerun this only to change it.
Deterministic for a given torch build (fixed seeds, one thread order).
"""
import gzip
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn

DATA = "/usr/share/datasets/fashion-mnist"
OUT = sys.argv[1] if len(sys.argv) > 1 else "examples/fashion_mnist_cnn.onnx"
# Normalization baked into the exported model's expectations; the test and
# the main job use the same constants.
MEAN, STD = 0.2860, 0.3530


def load(kind):
    with gzip.open(f"{DATA}/{kind}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(f"{DATA}/{kind}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    x = (images.astype(np.float32) / 255.0 - MEAN) / STD
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    train_x, train_y = load("train")
    test_x, test_y = load("t10k")
    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    epochs, batch = 3, 128
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(train_x))
        start = time.time()
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            optimizer.zero_grad()
            loss = loss_fn(model(train_x[idx]), train_y[idx])
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(test_x).argmax(1) == test_y).float().mean().item()
        print(f"epoch {epoch + 1}/{epochs}: loss {loss.item():.3f}, "
              f"test top-1 {accuracy:.4f}, {time.time() - start:.0f} s", flush=True)
    model.eval()
    torch.onnx.export(model, test_x[:1], OUT, input_names=["input"],
                      output_names=["logits"], opset_version=13,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    with open(OUT.replace(".onnx", ".json"), "w") as f:
        json.dump({"torch_test_top1": round(accuracy, 4), "mean": MEAN, "std": STD,
                   "epochs": epochs, "torch": torch.__version__}, f, indent=1)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
