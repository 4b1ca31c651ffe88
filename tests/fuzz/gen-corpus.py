#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# gen-corpus.py - write the fuzzer's seed corpus (tests/fuzz/corpus/).
#
# Each seed is one configuration byte and a few operations in the encoding
# fuzz_ops.c decodes: an opcode byte (its value modulo OP_COUNT) and the
# operation's argument bytes. Key k and value v share one byte: k + 8 * v.
# Run it from anywhere; it rewrites the seed-*.bin files only (regression
# inputs saved from findings are named differently and kept).
import os

(INSERT, UPDATE, REMOVE_VALUE, CLEAR_KEY, REMOVE_KEY, PURGE, RETAIN, RESERVE,
 FIT, FIT_ALL, EVICT, SET_META, REFRESH, FLUSH, TRY_REFRESH, INSERT_MANY,
 HOLD, RELEASE, READER, FAIL_NEXT) = range(20)

U64, HEAP = 0, 1          # config bit 0: key type
CAP, META, READY, CHAOS = 2, 4, 8, 16


def kv(k, v=0):
    return k + 8 * v


def ins(k, v):
    return [INSERT, kv(k, v)]


def many(k, v, n, step=0):
    return [INSERT_MANY, kv(k, v) | (step << 6), n - 1]


SEEDS = {
    'empty': [U64],
    'ready': [U64 | READY],
    'insert-refresh': [U64] + ins(0, 0) + [REFRESH],
    'insert-heapkeys': [HEAP] + ins(1, 2) + ins(1, 2) + ins(3, 4) + [REFRESH],
    'multi-value': [U64] + ins(1, 1) + ins(1, 2) + ins(1, 1) + [REFRESH] +
    [REMOVE_VALUE, kv(1, 1), REFRESH],
    'update': [HEAP] + ins(2, 1) + ins(2, 3) + [UPDATE, kv(2, 5), REFRESH,
                                                UPDATE, kv(2, 6), REFRESH],
    'remove-last-value': [U64] + ins(4, 4) + [REFRESH, REMOVE_VALUE, kv(4, 4),
                                               REFRESH],
    'remove-absent-value': [U64] + ins(4, 4) + [REMOVE_VALUE, kv(4, 5),
                                                 REMOVE_VALUE, kv(5, 5), REFRESH],
    'clear-key': [HEAP] + ins(5, 1) + [CLEAR_KEY, 5, CLEAR_KEY, 6, REFRESH],
    'remove-key': [U64] + ins(5, 1) + [REFRESH, REMOVE_KEY, 5, REMOVE_KEY, 7,
                                        REFRESH, REFRESH],
    'purge': [HEAP] + ins(0, 1) + ins(1, 1) + ins(2, 2) + [REFRESH, PURGE] +
    ins(3, 3) + [REFRESH, REFRESH],
    'retain': [U64] + many(3, 0, 8, 1) + [RETAIN, 3, 0x55, REFRESH],
    'retain-all-none': [HEAP] + many(3, 0, 5, 1) + [RETAIN, 3, 0xff, RETAIN, 3,
                                                    0x00, REFRESH],
    'retain-absent': [U64, RETAIN, 2, 0x0f, REFRESH],
    'reserve': [U64, RESERVE, kv(6, 3), RESERVE, kv(1, 0), REFRESH] + ins(6, 1) +
    [REFRESH],
    'reserve-huge': [HEAP, RESERVE, kv(2, 31), REFRESH],
    'fit': [U64] + many(1, 0, 20, 1) + [REFRESH, RETAIN, 1, 0x01, FIT, 1,
                                        REFRESH, FIT, 1, REFRESH],
    'fit-all': [HEAP] + many(1, 2, 40, 1) + ins(2, 2) + [REFRESH, PURGE,
                                                          FIT_ALL, REFRESH],
    'evict-some': [U64] + ins(0, 0) + ins(1, 1) + ins(2, 2) + ins(3, 3) +
    [REFRESH, EVICT, 2, 7, REFRESH],
    'evict-more-than-keys': [HEAP] + ins(0, 0) + ins(1, 1) +
    [EVICT, 9, 1, REFRESH],
    'evict-then-write': [U64] + ins(0, 0) + ins(1, 1) + ins(2, 2) +
    [REFRESH, EVICT, 1, 3] + ins(1, 4) + [UPDATE, kv(2, 2), RETAIN, 0, 1,
                                          REFRESH],
    'meta': [U64 | META, SET_META, 0, REFRESH, SET_META, 0, SET_META, 1,
             REFRESH, SET_META, 0, FLUSH],
    'flush': [HEAP, FLUSH] + ins(1, 1) + [FLUSH, FLUSH],
    'try-refresh': [U64] + ins(2, 2) + [TRY_REFRESH, TRY_REFRESH, REFRESH,
                                        TRY_REFRESH],
    'big-bag': [U64] + many(0, 0, 48, 1) + many(0, 0, 48, 1) + [REFRESH] +
    [REMOVE_VALUE, kv(0, 3), REMOVE_VALUE, kv(0, 3), REFRESH, RETAIN, 0, 0x33,
     REFRESH, FIT, 0, REFRESH],
    'big-bag-dups': [HEAP] + many(7, 5, 48) + many(7, 5, 30) + [REFRESH] +
    [REMOVE_VALUE, kv(7, 5)] * 10 + [REFRESH, CLEAR_KEY, 7, REFRESH],
    'section-deadlock': [U64 | READY, HOLD] + ins(1, 1) + [REFRESH, TRY_REFRESH,
                                                           RETAIN, 1, 0, FLUSH,
                                                           RELEASE, REFRESH],
    'section-nested': [HEAP | READY, HOLD, HOLD, RELEASE] + ins(1, 1) +
    [REFRESH, RELEASE, FLUSH],
    'reader-handles': [U64, READER, 0, READER, 1, READER, 1] + ins(1, 1) +
    [REFRESH, READER, 0],
    'fail-insert': [HEAP] + [FAIL_NEXT, 0] + ins(1, 1) + [FAIL_NEXT, 1] +
    ins(1, 2) + [FAIL_NEXT, 2] + ins(2, 2) + [REFRESH],
    'fail-refresh': [U64] + many(1, 0, 40, 1) + [FAIL_NEXT, 0, REFRESH,
                                                 FAIL_NEXT, 2, REFRESH,
                                                 REFRESH],
    'fail-second-copy': [HEAP] + many(2, 1, 40, 1) + [REFRESH] + ins(3, 3) +
    [FAIL_NEXT, 0, REFRESH, FAIL_NEXT, 1, REFRESH, REFRESH],
    'fail-retain-evict': [U64] + many(2, 1, 10, 1) + [REFRESH, FAIL_NEXT, 0,
                                                      RETAIN, 2, 0x0f,
                                                      FAIL_NEXT, 0, EVICT, 1,
                                                      0, REFRESH],
    'fail-meta-purge': [HEAP | META, FAIL_NEXT, 0, SET_META, 0, FAIL_NEXT, 0,
                        PURGE, REFRESH],
    'capacity': [U64 | CAP | 0xf0] + sum((ins(k, k) for k in range(8)), []) +
    [REFRESH, PURGE, REFRESH],
    'all-keys': [HEAP | CAP] + sum((ins(k, 7 - k) for k in range(8)), []) +
    [REFRESH, FIT_ALL, EVICT, 4, 9, REFRESH, REFRESH],
    'all-ops': [HEAP | META | READY] + list(range(20)) * 2,
    'chaos-values': [U64 | CHAOS] + many(1, 0, 40, 1) + many(1, 0, 40, 1) +
    [REFRESH] + [REMOVE_VALUE, kv(1, 3)] * 6 + [RETAIN, 1, 0x5a, REFRESH,
                                                FIT_ALL, REFRESH],
    'chaos-keys': [HEAP | CHAOS] + sum((ins(k, k) for k in range(8)), []) +
    sum((ins(k, 1) for k in range(8)), []) + [REFRESH, REMOVE_KEY, 3,
                                              UPDATE, kv(4, 4), CLEAR_KEY, 5,
                                              EVICT, 3, 3, REFRESH, PURGE,
                                              REFRESH],
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.startswith('seed-'):
            os.unlink(os.path.join(out, name))
    for name, data in SEEDS.items():
        with open(os.path.join(out, 'seed-%s.bin' % name), 'wb') as f:
            f.write(bytes(b & 0xff for b in data))
    print('%d seeds in %s' % (len(SEEDS), out))


if __name__ == '__main__':
    main()
