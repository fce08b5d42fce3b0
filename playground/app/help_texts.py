"""Short, friendly explanations of the ideas students meet in the playground (Help menu)."""

from __future__ import annotations

# topic key -> (menu title, HTML body). Keep each a few sentences: what it is, what you see, what to try.
TOPICS: dict[str, tuple[str, str]] = {
    "learning_rate": (
        "Learning rate: too large or too small",
        "<p>Each step moves every weight a little against its gradient: "
        "<i>w &larr; w &minus; lr &middot; gradient</i>. The <b>learning rate</b> (lr) sets how far.</p>"
        "<p><b>Too small</b>: the loss falls, but very slowly; the curve looks like a gentle slope.</p>"
        "<p><b>Too large</b>: steps overshoot the valley. The loss jumps around, rises, or becomes infinite "
        "(the run <i>diverges</i> and pauses itself).</p>"
        "<p>Try: start around 0.01 (Adam) or 0.03-0.1 (SGD); if the loss is jumpy, divide by 3 or 10. "
        "Changes apply live, so you can watch the effect on the curve.</p>",
    ),
    "batch_size": (
        "Batch size",
        "<p>The gradient of each step is averaged over a <b>batch</b> of training points.</p>"
        "<p><b>Small batches</b> give noisy but cheap steps; the noise can even help escape flat regions. "
        "<b>Large batches</b> give smoother, more accurate steps, but fewer of them per epoch.</p>"
        "<p>One <b>epoch</b> is one pass over the training set: batch size 10 on 250 points is 25 steps.</p>",
    ),
    "momentum": (
        "Momentum",
        "<p>Momentum keeps a running <i>velocity</i>: each step adds the new gradient to a fraction "
        "(e.g. 0.9) of the previous step. Like a ball rolling downhill, it speeds up along consistent "
        "directions and damps zig-zagging across narrow valleys.</p>"
        "<p><b>Nesterov</b> momentum looks ahead by first moving with the velocity, then measuring the "
        "gradient there; it often overshoots less.</p>",
    ),
    "adam": (
        "Adam",
        "<p>Adam keeps two running averages per weight: of the gradient (momentum, &beta;<sub>1</sub>) and "
        "of its square (&beta;<sub>2</sub>). Each weight's step is the first divided by the square root of "
        "the second, so every weight gets its own step size.</p>"
        "<p>It works well with little tuning (lr 0.001-0.01). <b>AdamW</b> applies weight decay directly to "
        "the weights instead of adding it to the gradient.</p>",
    ),
    "vanishing_gradients": (
        "Vanishing and exploding gradients",
        "<p>Backpropagation multiplies derivatives layer by layer. If they are mostly below 1 (saturated "
        "sigmoid or tanh neurons), the gradient <b>vanishes</b>: early layers barely learn. "
        "If they are above 1 (large weights), it <b>explodes</b>.</p>"
        "<p>Watch the <i>Gradient norm per layer</i> plot (log scale): lines far apart by several "
        "powers of ten mean trouble. Remedies: ReLU-like activations, a suitable initializer "
        "(He for ReLU, Glorot for tanh), fewer layers, or gradient clipping.</p>",
    ),
    "regularization": (
        "Regularization",
        "<p>Regularization adds a penalty on large weights to the loss. <b>L2</b> (rate &middot; "
        "&frac12;&sum;w&sup2;) shrinks all weights smoothly; <b>L1</b> (rate &middot; &sum;|w|) pushes many "
        "weights to exactly zero.</p>"
        "<p>Both make the decision boundary simpler and reduce overfitting. Too much, and the network cannot "
        "fit even the training data. <b>Dropout</b> (per layer in the network builder) randomly switches "
        "neurons off while training, another way to prevent over-reliance on a few neurons.</p>",
    ),
    "overfitting": (
        "Overfitting",
        "<p>A network <b>overfits</b> when it learns the training points, noise included, instead of the "
        "pattern: the training loss keeps falling while the test loss stops falling or rises.</p>"
        "<p>Watch the gap between the train and test curves. Try: more data, more noise in the data to see "
        "the effect, fewer neurons, regularization or dropout, or stopping earlier.</p>",
    ),
    "activations": (
        "Activation functions",
        "<p>Each neuron computes a weighted sum and passes it through an <b>activation</b>. Without a "
        "non-linear activation, any number of layers is still just one linear function.</p>"
        "<ul><li><b>tanh</b>, <b>sigmoid</b>: smooth S-curves; saturate (flat) for large inputs.</li>"
        "<li><b>ReLU</b>: max(0, x); fast and does not saturate for positive inputs, but a unit can 'die' "
        "(always 0). <b>Leaky ReLU</b>, <b>ELU</b>, <b>GELU</b> keep a small slope below 0.</li>"
        "<li><b>linear</b>: no change; used for regression outputs.</li>"
        "<li><b>softmax</b> (output): turns scores into class probabilities that sum to 1.</li></ul>",
    ),
    "losses": (
        "Loss functions",
        "<p>The <b>loss</b> measures how wrong the predictions are; training lowers it.</p>"
        "<ul><li><b>Binary cross-entropy</b> (with a sigmoid output) and <b>categorical cross-entropy</b> "
        "(with softmax): the standard for classification; they punish confident mistakes heavily.</li>"
        "<li><b>MSE</b>: mean squared error, for regression; large errors dominate.</li>"
        "<li><b>MAE</b>: mean absolute error; less sensitive to outliers. "
        "<b>Huber</b>: MSE for small errors, MAE for large ones.</li>"
        "<li><b>Hinge</b>: the SVM loss for &plusmn;1 labels.</li></ul>"
        "<p>Each loss needs a matching output activation; the app picks it for you.</p>",
    ),
    "initialization": (
        "Weight initialization",
        "<p>Training starts from random weights. Their scale matters: too small and signals fade "
        "through the layers, too large and neurons saturate or gradients explode.</p>"
        "<p><b>Glorot/Xavier</b> scales by fan-in and fan-out (good for tanh, sigmoid); <b>He</b> scales by "
        "fan-in for ReLU. All zeros is a trap: every neuron of a layer stays identical forever.</p>"
        "<p>The <b>seed</b> fixes the random draw: <i>Reset</i> restarts from the same weights, "
        "<i>New seed</i> from different ones.</p>",
    ),
}


def topic_html(key: str) -> str:
    title, body = TOPICS[key]
    return f"<h3>{title}</h3>{body}"
