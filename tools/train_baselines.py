#!/usr/bin/python3
"""Simple anomaly baselines (PCA reconstruction error, 1-nearest-neighbour distance) on the same
images `inspectd train anogan` / `inspectd eval anogan` use, so every AnoGAN figure in
docs/benchmarks.md has its baseline beside it. Pixels in [0, 1] at their stored size.

  train_baselines.py mnist     fit on 7/8 of the first half of ../shared/datasets/mnist,
                               score 2/7/8 of the second half (anomalous = 2)
  train_baselines.py fashion [N_TRAIN] [N_TEST]
                               fit on the first N_TRAIN pullovers (class 2) of the Fashion-MNIST
                               train split, score the first N_TEST images of t10k (anomalous =
                               every class but 2)
Needs python3-numpy and python3-sklearn (Debian). Prints one JSON line per method.
"""
import gzip, json, os, struct, sys, time
import numpy as np
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get('INSPECTD_SHARED') or os.path.join(HERE, '..', '..', 'shared')
FASHION = os.environ.get('FASHION_DIR') or '/usr/share/datasets/fashion-mnist'

def idx(path):
    with gzip.open(path) as f:
        magic, = struct.unpack('>I', f.read(4))
        dims = struct.unpack('>' + 'I' * (magic & 0xff), f.read(4 * (magic & 0xff)))
        return np.frombuffer(f.read(), np.uint8).reshape(dims)

def run(name, train, test, labels):
    train = train.reshape(len(train), -1).astype(np.float32) / 255
    test = test.reshape(len(test), -1).astype(np.float32) / 255
    for k in (5, 20, 40):
        t0 = time.perf_counter()
        pca = PCA(k, random_state=0).fit(train)
        err = ((test - pca.inverse_transform(pca.transform(test))) ** 2).sum(1)
        report(name, f'pca{k}', err, labels, t0, len(train))
    t0 = time.perf_counter()
    dist, _ = NearestNeighbors(n_neighbors=1).fit(train).kneighbors(test)
    report(name, '1nn', dist[:, 0], labels, t0, len(train))

def report(data, method, scores, labels, t0, n_train):
    print(json.dumps({'data': data, 'method': method, 'n_train': n_train, 'n_test': len(labels),
                      'n_anomalous': int(labels.sum()), 'auroc': round(roc_auc_score(labels, scores), 4),
                      's': round(time.perf_counter() - t0, 2)}), flush=True)

def main():
    which = sys.argv[1] if len(sys.argv) > 1 else 'mnist'
    if which == 'mnist':
        d = os.path.join(SHARED, 'datasets', 'mnist')
        x, y = idx(os.path.join(d, 'images-idx3-ubyte.gz')), idx(os.path.join(d, 'labels-idx1-ubyte.gz'))
        half = len(y) // 2
        tr = [i for i in range(half) if y[i] in (7, 8)]
        te = [i for i in range(half, len(y)) if y[i] in (2, 7, 8)]
        run('mnist 7,8 vs 2', x[tr], x[te], (y[te] == 2).astype(int))
    elif which == 'fashion':
        n_train = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
        n_test = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
        x, y = idx(os.path.join(FASHION, 'train-images-idx3-ubyte.gz')), idx(os.path.join(FASHION, 'train-labels-idx1-ubyte.gz'))
        tr = np.nonzero(y == 2)[0][:n_train]
        xt, yt = idx(os.path.join(FASHION, 't10k-images-idx3-ubyte.gz')), idx(os.path.join(FASHION, 't10k-labels-idx1-ubyte.gz'))
        run('fashion pullover vs rest', x[tr], xt[:n_test], (yt[:n_test] != 2).astype(int))
    else:
        sys.exit(__doc__)

if __name__ == '__main__':
    main()
