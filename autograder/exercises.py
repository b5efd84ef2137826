"""The exercise table: which function of ``nntricks`` is which exercise.

One row per solution region of ``reference/nntricks``. The release builder uses
it to write the stubs' pointers ("Exercise 4.3, notebooks/04_batchnorm.ipynb"),
the hidden checks use it to name what they grade, and the notebooks use the
same numbers in their headings.
"""

from typing import NamedTuple


class Exercise(NamedTuple):
    number: str  # "4.3"
    notebook: str  # "04_batchnorm"
    title: str  # the notebook section's heading, without the number

    @property
    def pointer(self) -> str:
        return f"Exercise {self.number} ({self.title}), notebooks/{self.notebook}.ipynb"


_NB = {
    "divergences": "01_divergences",
    "nn": "01_divergences",
    "train": "01_divergences",
    "optim": "02_optimizers",
    "init": "03_initialization",
    "batchnorm": "04_batchnorm",
    "dropout": "05_dropout",
    "regularization": "06_regularization_and_heuristics",
    "heuristics": "06_regularization_and_heuristics",
}

# topic -> notebook: the topics are the module names of the API contract.
TOPICS = tuple(_NB)
NOTEBOOKS = tuple(dict.fromkeys(_NB.values()))


def _rows(topic, rows):
    return {f"{topic}.{name}": Exercise(num, _NB[topic], title) for name, num, title in rows}


# key: "<module>.<qualified name of the function holding the solution region>"
EXERCISES = {
    **_rows("divergences", [
        ("l2", "1.1", "The L2 divergence"),
        ("l2_grad", "1.1", "The L2 divergence"),
        ("bce", "1.2", "Binary cross-entropy"),
        ("bce_grad", "1.2", "Binary cross-entropy"),
        ("kl", "1.3", "The KL divergence"),
        ("kl_grad", "1.3", "The KL divergence"),
        ("softmax", "1.4", "A stable softmax"),
        ("log_softmax", "1.4", "A stable softmax"),
        ("softmax_cross_entropy", "1.5", "Softmax with cross-entropy"),
        ("softmax_cross_entropy_grad", "1.5", "Softmax with cross-entropy"),
        ("error_signal_gap", "1.5", "Softmax with cross-entropy"),
    ]),
    **_rows("nn", [
        ("Linear.forward", "1.6", "The linear layer"),
        ("Linear.backward", "1.6", "The linear layer"),
        ("Sigmoid.forward", "1.7", "Backward through the nonlinearities"),
        ("Sigmoid.backward", "1.7", "Backward through the nonlinearities"),
        ("Tanh.backward", "1.7", "Backward through the nonlinearities"),
        ("ReLU.backward", "1.7", "Backward through the nonlinearities"),
        ("LeakyReLU.backward", "1.7", "Backward through the nonlinearities"),
        ("Sequential.forward", "1.8", "Assembling the network"),
        ("Sequential.backward", "1.8", "Assembling the network"),
    ]),
    **_rows("train", [
        ("train_step", "1.9", "The training step"),
    ]),
    **_rows("optim", [
        ("SGD.step", "2.1", "SGD with momentum and Nesterov"),
        ("RMSProp.step", "2.2", "RMSProp"),
        ("Adam.step", "2.3", "Adam"),
        ("Adam._update", "2.3", "Adam"),
        ("AdamW.step", "2.4", "AdamW: decoupled weight decay"),
        ("inverse_time_decay", "2.5", "Learning-rate schedules"),
        ("step_decay", "2.5", "Learning-rate schedules"),
    ]),
    **_rows("init", [
        ("zeros", "3.1", "Constant and small random initializations"),
        ("constant", "3.1", "Constant and small random initializations"),
        ("normal", "3.1", "Constant and small random initializations"),
        ("uniform_fan_in", "3.2", "Fan-in scaled initializations"),
        ("xavier_uniform", "3.2", "Fan-in scaled initializations"),
        ("xavier_normal", "3.2", "Fan-in scaled initializations"),
        ("lecun_normal", "3.2", "Fan-in scaled initializations"),
        ("he_uniform", "3.3", "He initialization for ReLU"),
        ("he_normal", "3.3", "He initialization for ReLU"),
    ]),
    **_rows("batchnorm", [
        ("batchnorm_forward", "4.1", "The batch-norm forward pass"),
        ("batchnorm_jacobian", "4.2", "The batch-norm Jacobian"),
        ("batchnorm_backward", "4.3", "The vectorized backward pass"),
        ("batchnorm_inference", "4.4", "Inference and running statistics"),
        ("BatchNorm1d.forward", "4.4", "Inference and running statistics"),
    ]),
    **_rows("dropout", [
        ("dropout_forward", "5.1", "The dropout forward pass"),
        ("dropout_backward", "5.2", "The dropout backward pass"),
        ("exact_average", "5.3", "The exact average over all masks"),
    ]),
    **_rows("regularization", [
        ("l2_penalty", "6.1", "L2 and L1 penalties"),
        ("l2_penalty_grad", "6.1", "L2 and L1 penalties"),
        ("l1_penalty", "6.1", "L2 and L1 penalties"),
        ("l1_penalty_grad", "6.1", "L2 and L1 penalties"),
        ("weight_decay_step", "6.1", "L2 and L1 penalties"),
        ("gaussian_noise", "6.2", "Noise injection"),
    ]),
    **_rows("heuristics", [
        ("clip_by_value", "6.3", "Gradient clipping"),
        ("clip_by_norm", "6.3", "Gradient clipping"),
        ("EarlyStopping.step", "6.4", "Early stopping"),
        ("standardize_fit", "6.5", "Normalizing the inputs"),
        ("standardize", "6.5", "Normalizing the inputs"),
        ("grid_search", "6.6", "Grid search"),
    ]),
}
