"""The byoc stack and its inputs."""

import os

# jsii prints a large "Node <N> is end-of-life" banner on every run when Node is past its support
# date (Node 20 here). Users cannot act on it inside byoc, so silence it for the EOL majors; this
# runs before anything imports jsii. (The ..._DEPRECATED_NODE_VERSION variant does not apply.)
_EOL_VAR = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"
_silenced = {v for v in os.environ.get(_EOL_VAR, "").split(",") if v}
os.environ[_EOL_VAR] = ",".join(sorted(_silenced | {"14", "16", "18", "20"}))

STACK_NAME = "byoc"
STATE_FILE = f"terraform.{STACK_NAME}.tfstate"
#: The JSON key inside the secret's value, {"PINECONE_API_KEY": "..."}, and the container's
#: environment variable name.
SECRET_JSON_KEY = "PINECONE_API_KEY"
