"""``saved_model_cli`` with tensorflow-text's ops registered first (the stock tool cannot load them).

    python serving/saved_model_cli.py show --dir exports/g2p-luong/1 --all
    python serving/saved_model_cli.py run --dir exports/g2p-luong/1 --tag_set serve \
        --signature_def serving_default --input_exprs 'text=["hello","world"]'

``run`` loads the model with the session-based loader, the one TF Serving uses.
"""
import tensorflow_text  # noqa: F401  (registers CaseFoldUTF8 and the other tensorflow-text ops)
from tensorflow.python.tools import saved_model_cli

if __name__ == "__main__":
    saved_model_cli.main()
