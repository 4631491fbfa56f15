"""Learned pooling on scikit-learn's bundled 8×8 digits (offline): separability and accuracy.

The operator is learned on a training split only (tile 8 = the whole image, k = 2: 16
outputs); both it and average pooling map each image to 4×4 features, and a logistic
regression trained on the training split's features is scored on the held-out split.
S_b/S_w (Birodkar et al., arXiv 2019, eq. 13) is measured with the held-out split's own A and B.

    python3 examples/learned_digits.py [--alpha 25] [--norm l2]
"""

import argparse

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from dpdown.evaluation import learning


def pooled(weights, op, images):
    """Each image's normalised pixels through ``weights`` (M×N): the 4×4 features."""
    g = (images.reshape(len(images), -1) - op.mean[0]) / op.std[0]
    return g @ weights.T


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--alpha", type=float, default=25.0)
    parser.add_argument("--norm", choices=learning.NORMS, default="l2")
    args = parser.parse_args()
    digits = load_digits()
    images, labels = digits.images / 16.0, digits.target
    train_x, test_x, train_y, test_y = train_test_split(images, labels, test_size=0.3, random_state=0,
                                                        stratify=labels)
    op = learning.learn_arrays(zip(train_x, train_y), 2, 8, args.alpha, args.norm)
    held_out = learning.Scatter(8)
    for img, q in zip(test_x, test_y):
        held_out.add(img, q)
    a, b = held_out.matrices()
    print(f"digits: {len(train_x)} training / {len(test_x)} held-out images; tile 8, k 2, "
          f"α = {args.alpha:g}, {args.norm}")
    print(f"{'pooling':<10} {'S_b/S_w (held-out, mean over 16 outputs)':>42} {'accuracy':>9}")
    for name, weights in (("average", learning.average_operator(8, 2)), ("learned", op.weights)):
        classifier = LogisticRegression(max_iter=5000).fit(pooled(weights, op, train_x), train_y)
        accuracy = classifier.score(pooled(weights, op, test_x), test_y)
        print(f"{name:<10} {learning.separability(weights, a, b).mean():>42.3f} {accuracy:>9.3f}")


if __name__ == "__main__":
    main()
