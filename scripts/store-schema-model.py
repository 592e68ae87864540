#!/usr/bin/env python3
"""A model of fhird's resource-store write path, to compare index schemas (docs/benchmarks.md).

Same SQLite settings as ResourceStore (WAL, synchronous=FULL, secure_delete, 10,000-page
auto-checkpoint, 64 MiB cache), transactions of 22 creates (fhird's mean group commit at 64
concurrent creates), each create a 1,300-byte sealed version and 13 random blind tokens over the
parameters of typical Synthea resources.

    python3 scripts/store-schema-model.py v1 30000   # text-keyed current_resource + index_token
    python3 scripts/store-schema-model.py v2 30000   # integer resource key + search_token (now)
    python3 scripts/store-schema-model.py v3 30000   # v2 with resource_version keyed by it too

Prints resources/s and the database size. Writes to a temporary directory it removes.
"""
import os
import sqlite3
import sys
import tempfile
import time
import uuid

PARAMETERS = ["code", "date", "status", "patient", "subject", "category", "clinical-status", "onset-date",
              "recorded-date", "type", "class", "intent", "authoredon"]


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("v1", "v2", "v3"):
        sys.exit("usage: store-schema-model.py v1|v2|v3 RESOURCES")
    mode, count = sys.argv[1], int(sys.argv[2])
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.sqlite")
        db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=wal", "synchronous=full", "wal_autocheckpoint=10000", "cache_size=-65536",
                       "secure_delete=on"):
            db.execute("PRAGMA " + pragma)
        if mode == "v3":
            db.execute("CREATE TABLE rv(k INT, ds TEXT, v INT, lu INT, deleted INT, sealed BLOB, UNIQUE(k, v))")
        else:
            db.execute("CREATE TABLE rv(ds TEXT, rt TEXT, rid TEXT, v INT, lu INT, deleted INT, sealed BLOB,"
                       " UNIQUE(ds, rt, rid, v))")
        db.execute("CREATE INDEX rv_updated ON rv(ds, lu)")
        if mode == "v1":
            db.execute("CREATE TABLE cur(ds TEXT, rt TEXT, rid TEXT, v INT, deleted INT, lu INT,"
                       " PRIMARY KEY(ds, rt, rid)) WITHOUT ROWID")
            db.execute("CREATE INDEX cur_updated ON cur(ds, rt, lu)")
            db.execute("CREATE TABLE tok(ds TEXT, rt TEXT, param TEXT, token BLOB, rid TEXT,"
                       " PRIMARY KEY(ds, rt, param, token, rid)) WITHOUT ROWID")
            db.execute("CREATE INDEX tok_resource ON tok(ds, rt, rid)")
        else:
            db.execute("CREATE TABLE res(k INTEGER PRIMARY KEY, ds TEXT, rt TEXT, rid TEXT, v INT, deleted INT, lu INT,"
                       " UNIQUE(ds, rt, rid))")
            db.execute("CREATE INDEX res_updated ON res(ds, rt, lu)")
            db.execute("CREATE TABLE tok(param TEXT, token BLOB, k INT, PRIMARY KEY(param, token, k)) WITHOUT ROWID")
            db.execute("CREATE INDEX tok_resource ON tok(k)")
        datastore = str(uuid.uuid4())
        sealed = os.urandom(1300)
        written = 0
        started = time.time()
        while written < count:
            db.execute("BEGIN")
            for _ in range(22):
                rid = str(uuid.uuid4())
                written += 1
                if mode == "v1":
                    db.execute("INSERT INTO rv VALUES(?,?,?,?,?,?,?)", (datastore, "Condition", rid, 1, written, 0, sealed))
                    db.execute("INSERT INTO cur VALUES(?,?,?,?,?,?)", (datastore, "Condition", rid, 1, 0, written))
                    for parameter in PARAMETERS:
                        db.execute("INSERT INTO tok VALUES(?,?,?,?,?)",
                                   (datastore, "Condition", parameter, os.urandom(16), rid))
                else:
                    key = db.execute("INSERT INTO res(ds, rt, rid, v, deleted, lu) VALUES(?,?,?,?,?,?)",
                                     (datastore, "Condition", rid, 1, 0, written)).lastrowid
                    if mode == "v3":
                        db.execute("INSERT INTO rv VALUES(?,?,?,?,?,?)", (key, datastore, 1, written, 0, sealed))
                    else:
                        db.execute("INSERT INTO rv VALUES(?,?,?,?,?,?,?)",
                                   (datastore, "Condition", rid, 1, written, 0, sealed))
                    for parameter in PARAMETERS:
                        db.execute("INSERT INTO tok VALUES(?,?,?)", (parameter, os.urandom(16), key))
            db.execute("COMMIT")
        elapsed = time.time() - started
        db.close()
        print(f"{mode}: {written / elapsed:,.0f} resources/s, database {os.path.getsize(path) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
