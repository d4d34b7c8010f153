"""moto server, as the local stack and the tests run it: DynamoDB's requests one at a time.

moto applies a TransactWriteItems to its tables and, when one of the transaction's conditions fails,
puts back the copy of every table it touched that it took when it began. The server answers requests
in threads, so a write another request committed meanwhile is undone with it: a contract case, or a
worker beside a redelivered one, then reads its own committed change gone (seen once in a few runs
under load). DynamoDB never loses a committed write, so DynamoDB's requests are served one at a time
here; they are in-memory and short. SQS, S3 and the other services stay concurrent: a long poll must
not hold them.

    .venv/bin/python infra/moto_server.py -H 127.0.0.1 -p 4566   (infra/moto-server does this)
"""

import threading

from moto.dynamodb.responses import DynamoHandler
from moto.server import main

_one_at_a_time = threading.Lock()
_call_action = DynamoHandler.call_action


def _serialized(self):
    with _one_at_a_time:
        return _call_action(self)


DynamoHandler.call_action = _serialized

if __name__ == "__main__":
    main()
