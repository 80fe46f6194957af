/*
 * Copyright (C) nginx-hoop authors
 *
 * The audit chain against values computed independently (openssl dgst),
 * the checkpoints' signer against openssl pkeyutl, and the JSON writer
 * events are built with.
 */


#include "tap.h"
#include "hoop_audit.h"
#include "hoop_audit_sign.h"
#include <jansson.h>

#include "hoop_json.h"


/* openssl genpkey -algorithm ed25519 */
static const char  ed25519_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIIOnfhXNVSG5xGCCC/q4E1r2eWZi4kLtix9EfkX2jZn8\n"
    "-----END PRIVATE KEY-----\n";

/* openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 */
static const char  p256_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5vdORvNrRt32mL+S\n"
    "5qmyHlSkeLVfYhY8SxS5atgSAaehRANCAAQkGKUJnNWBrr73hZeyxzXf7R92vlbm\n"
    "VUJP3U1E5IKJwt/PQxXiVHfKDWfP5a8gSHfh5n9Ls93lBWshWn1VIli0\n"
    "-----END PRIVATE KEY-----\n";


static void
test_signer(void)
{
    char                  sig[HOOP_AUDIT_SIG_LEN + 1];
    const char           *err;
    hoop_audit_signer_t  *s;

    err = NULL;
    s = hoop_audit_signer_new(ed25519_pem, sizeof(ed25519_pem) - 1, &err);
    ok(s != NULL, "an Ed25519 PEM key is taken");

    if (s == NULL) {
        return;
    }

    /* openssl pkey -in k -pubout | openssl pkey -pubin -outform DER
     *     | sha256sum */
    ok(strcmp(hoop_audit_signer_key_id(s),
              "8383301496e17f3763226f0d686fa809"
              "5d94cbf6d6ae15a5f02ec0ff243402b6") == 0,
       "key id: SHA-256 of the DER public key, as an auditor computes it");

    /* printf hello | openssl pkeyutl -sign -rawin -inkey k | xxd -p */
    is_int(hoop_audit_sign(s, "hello", 5, sig), 0, "signs");
    ok(strcmp(sig, "a79e750d6a6bb95d958f301a5d37c9be08344c83c9ad5cd8fb1159f6"
              "372c45fb78745fbd7b937858fdeb2c59a063820fbc3045557d5dec93df785ad"
              "74e377108") == 0,
       "the signature openssl pkeyutl makes (Ed25519 is deterministic)");

    hoop_audit_signer_free(s);

    s = hoop_audit_signer_new(p256_pem, sizeof(p256_pem) - 1, &err);
    ok(s == NULL && strstr(err, "not an Ed25519 key") != NULL,
       "a P-256 key is refused: the algorithm is pinned");

    s = hoop_audit_signer_new("secret\n", 7, &err);
    ok(s == NULL && strstr(err, "not a PEM private key") != NULL,
       "an HMAC secret in the wrong directive is refused");
}


static int
id_cmp(const char *a, const char *b)
{
    return hoop_audit_stream_id_cmp(a, strlen(a), b, strlen(b));
}


static void
test_stream_id_cmp(void)
{
    is_int(id_cmp("1733623123123-5", "1733623123123-5"), 0, "id: same");
    is_int(id_cmp("1733623123123-5", "1733623123123-12"), -1,
           "id: the sequence compared as a number, not as text");
    is_int(id_cmp("999-0", "1000-0"), -1, "id: the time as a number");
    is_int(id_cmp("1000-0", "999-7"), 1, "id: the time first");
    is_int(id_cmp("0-0", "1-1"), -1, "id: 0-0 (an empty stream) oldest");
    is_int(id_cmp("18446744073709551615-18446744073709551615", "1-0"), 1,
           "id: the largest Redis makes");
    is_int(id_cmp("18446744073709551616-0", "1-0"), -2,
           "id: past 64 bits: malformed");
    is_int(id_cmp("12", "1-0"), -2, "id: no sequence: malformed");
    is_int(id_cmp("1-", "1-0"), -2, "id: empty sequence: malformed");
    is_int(id_cmp("-1", "1-0"), -2, "id: empty time: malformed");
    is_int(id_cmp("1-0x", "1-0"), -2, "id: trailing bytes: malformed");
    is_int(id_cmp("1-0", ""), -2, "id: empty: malformed");
    is_int(hoop_audit_stream_id_cmp("5-1-0", 3, "5-1", 3), 0,
           "id: only the length given is read");
}


int
main(void)
{
    char         out[HOOP_AUDIT_HASH_LEN + 1], buf[256];
    size_t       n;
    hoop_json_t  j;

    /* printf '%064d\n{"seq":1}' 0 | openssl dgst -sha256 */
    is_int(hoop_audit_chain(hoop_audit_genesis, "{\"seq\":1}", 9, NULL, 0,
                            out), 0, "SHA-256 chain link");
    ok(strcmp(out, "a453da8151216b5ae0a15c5377bc79da35cc4f629a9e9a3dcab70bf0"
               "b485609a") == 0, "equal to openssl dgst -sha256");

    /* printf '%064d\n{"seq":1}' 0 | openssl dgst -sha256 -hmac k */
    {
        char  keyed[HOOP_AUDIT_HASH_LEN + 1];

        is_int(hoop_audit_chain(hoop_audit_genesis, "{\"seq\":1}", 9,
                                (const unsigned char *) "k", 1, keyed), 0,
               "HMAC chain link");
        ok(strcmp(keyed, "8e69f86b6f12b80f5b62a94a43f384854c5feb6f00b938ab3"
                   "7e886309e391a6d") == 0, "equal to openssl dgst -hmac");
    }

    /* a hasher made once gives every link the one-shot function gives */
    {
        int                   i, same;
        char                  a[HOOP_AUDIT_HASH_LEN + 1];
        char                  b[HOOP_AUDIT_HASH_LEN + 1];
        char                  prev[HOOP_AUDIT_HASH_LEN + 1];
        hoop_audit_hasher_t  *h, *hk;

        h = hoop_audit_hasher_new(NULL, 0);
        hk = hoop_audit_hasher_new((const unsigned char *) "k", 1);
        ok(h != NULL && hk != NULL, "hashers made");

        is_int(hoop_audit_hasher_chain(h, hoop_audit_genesis, "{\"seq\":1}",
                                       9, a), 0, "hasher: SHA-256 link");
        ok(strcmp(a, out) == 0, "hasher: the same SHA-256 link");

        is_int(hoop_audit_hasher_chain(hk, hoop_audit_genesis,
                                       "{\"seq\":1}", 9, a), 0,
               "hasher: HMAC link");
        ok(strcmp(a, "8e69f86b6f12b80f5b62a94a43f384854c5feb6f00b938ab37e88"
                  "6309e391a6d") == 0, "hasher: the same HMAC link");

        /* a chain of links: each reuses the hasher's key and digest */

        same = 1;
        memcpy(prev, hoop_audit_genesis, sizeof(prev));

        for (i = 0; i < 5; i++) {
            hoop_audit_hasher_chain(hk, prev, "{\"seq\":2}", 9, a);
            hoop_audit_chain(prev, "{\"seq\":2}", 9,
                             (const unsigned char *) "k", 1, b);
            same = same && strcmp(a, b) == 0;
            hoop_audit_hasher_chain(h, a, "{}", 2, prev);
            hoop_audit_chain(a, "{}", 2, NULL, 0, b);
            same = same && strcmp(prev, b) == 0;
        }

        ok(same, "a chain of ten links, hasher and one-shot alike");

        hoop_audit_hasher_free(h);
        hoop_audit_hasher_free(hk);
        hoop_audit_hasher_free(NULL);
    }

    hoop_json_init(&j, buf, sizeof(buf));
    hoop_json_object(&j, NULL);
    hoop_json_string(&j, "a", "x\"y\n", 4);
    hoop_json_int(&j, "n", -42);
    hoop_json_null(&j, "z");
    hoop_json_array(&j, "l");
    hoop_json_int(&j, NULL, 1);
    hoop_json_string(&j, NULL, "b", 1);
    hoop_json_end(&j);
    hoop_json_object(&j, "o");
    hoop_json_end(&j);
    hoop_json_value(&j, "v", "{\"k\":[]}", 8);
    hoop_json_end(&j);
    n = hoop_json_finish(&j);
    is_mem(buf, n, "{\"a\":\"x\\\"y\\u000a\",\"n\":-42,\"z\":null,"
           "\"l\":[1,\"b\"],\"o\":{},\"v\":{\"k\":[]}}", 67,
           "JSON writer, a ready value included as it is");

    /* escaping at every position of a long string, against byte-at-a-time */
    {
        int            ok_all;
        char           str[25], want[256], got[256];
        size_t         w, pos, k, c;
        hoop_json_t    jj;

        static const unsigned char  special[] = { '"', '\\', '\n', 0x7f,
                                                  0x1f, 0x00, 0xc3 };

        ok_all = 1;

        for (c = 0; c < sizeof(special); c++) {
            for (pos = 0; pos < sizeof(str); pos++) {
                memset(str, 'a', sizeof(str));
                str[pos] = (char) special[c];

                w = 0;
                want[w++] = '"';

                for (k = 0; k < sizeof(str); k++) {
                    unsigned char  b = (unsigned char) str[k];

                    if (b == '"' || b == '\\') {
                        want[w++] = '\\';
                        want[w++] = (char) b;

                    } else if (b < 0x20 || b >= 0x7f) {
                        /* 0xc3 alone is not UTF-8: escaped too */
                        w += (size_t) sprintf(want + w, "\\u%04x", b);

                    } else {
                        want[w++] = (char) b;
                    }
                }

                want[w++] = '"';

                hoop_json_init(&jj, got, sizeof(got));
                hoop_json_string(&jj, NULL, str, sizeof(str));

                if (hoop_json_finish(&jj) != w || memcmp(got, want, w) != 0) {
                    ok_all = 0;
                }
            }
        }

        ok(ok_all, "each special byte at each position of 25 escaped alike");

        /* well-formed UTF-8 is kept; any other high byte escaped */

        hoop_json_init(&jj, got, sizeof(got));
        hoop_json_string(&jj, NULL, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                         14);
        is_mem(got, hoop_json_finish(&jj),
               "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", 16,
               "UTF-8 characters of 2, 3 and 4 bytes kept as they are");

        hoop_json_init(&jj, got, sizeof(got));
        hoop_json_string(&jj, NULL, "\xc0\x80|\xed\xa0\x80|\xf4\x90\x80\x80|"
                         "\x80|caf\xe9|\xe2\x82", 21);
        w = hoop_json_finish(&jj);
        is_mem(got, w, "\"\\u00c0\\u0080|\\u00ed\\u00a0\\u0080|"
               "\\u00f4\\u0090\\u0080\\u0080|\\u0080|caf\\u00e9|"
               "\\u00e2\\u0082\"", 88,
               "overlong, surrogate, past U+10FFFF, stray, LATIN1 and cut"
               " characters escaped byte by byte");
    }

    /* whatever the bytes, the output is JSON a strict reader takes */
    {
        int            ok_all;
        char           str[4], got[64];
        size_t         a, b, len;
        json_t        *v;
        hoop_json_t    jj;
        json_error_t   err;

        ok_all = 1;

        for (a = 0; a < 256; a++) {
            for (b = 0; b < 256; b++) {
                str[0] = 'x';
                str[1] = (char) a;
                str[2] = (char) b;
                str[3] = (char) 0xbf;

                hoop_json_init(&jj, got, sizeof(got));
                hoop_json_string(&jj, NULL, str, 4);
                len = hoop_json_finish(&jj);

                v = json_loadb(got, len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                               &err);

                if (v == NULL) {
                    ok_all = 0;
                }

                json_decref(v);
            }
        }

        ok(ok_all, "every pair of bytes, then 0xbf: jansson reads it back");

        hoop_json_init(&jj, got, sizeof(got));
        hoop_json_int(&jj, NULL, -9223372036854775807LL - 1);
        is_mem(got, hoop_json_finish(&jj), "-9223372036854775808", 20,
               "the lowest integer");
        hoop_json_init(&jj, got, sizeof(got));
        hoop_json_int(&jj, NULL, 0);
        is_mem(got, hoop_json_finish(&jj), "0", 1, "zero");
    }

    /* members made once, copied into objects with and without others */
    {
        char         m[64], out[128];
        size_t       ml;
        hoop_json_t  jm, jo;

        hoop_json_init(&jm, m, sizeof(m));
        hoop_json_object(&jm, NULL);
        hoop_json_string(&jm, "a", "x", 1);
        hoop_json_int(&jm, "b", 2);
        hoop_json_end(&jm);
        ml = hoop_json_finish(&jm);

        hoop_json_init(&jo, out, sizeof(out));
        hoop_json_object(&jo, NULL);
        hoop_json_int(&jo, "v", 1);
        hoop_json_members(&jo, m + 1, ml - 2);
        hoop_json_null(&jo, "z");
        hoop_json_end(&jo);
        is_mem(out, hoop_json_finish(&jo), "{\"v\":1,\"a\":\"x\",\"b\":2,"
               "\"z\":null}", 30, "members copied between others");

        hoop_json_init(&jo, out, sizeof(out));
        hoop_json_object(&jo, NULL);
        hoop_json_members(&jo, m + 1, ml - 2);
        hoop_json_end(&jo);
        is_mem(out, hoop_json_finish(&jo), "{\"a\":\"x\",\"b\":2}", 15,
               "members copied first");
    }

    hoop_json_init(&j, buf, 5);
    hoop_json_object(&j, NULL);
    hoop_json_string(&j, "a", "long", 4);
    hoop_json_end(&j);
    is_int(hoop_json_finish(&j), 0, "too small a buffer: 0");
    is_int(j.len, 12, "and the length needed");

    hoop_json_init(&j, buf, sizeof(buf));
    hoop_json_object(&j, NULL);
    is_int(hoop_json_finish(&j), 0, "unbalanced: 0");

    test_signer();
    test_stream_id_cmp();

    return done_testing();
}
