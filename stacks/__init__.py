"""The byoc stack: its inputs (``inputs.py``), the stack that composes the constructs
(``byoc_stack.py``), its state backend (``backend.py``), the optional Pinecone indexes
(``pinecone.py``) and the app that synthesizes it (``app.py``, fast imports in ``fast_imports.py``).

Importing this package loads nothing heavy and changes nothing: jsii starts only in ``app.synth``.
"""

STACK_NAME = "byoc"
STATE_FILE = f"terraform.{STACK_NAME}.tfstate"
