/*
 * Copyright (C) nginx-hoop authors
 *
 * The masking engine: every detector on values it must find and on the
 * near misses it must leave alone, the three strategies, and the stream
 * property that matters most: however the text is cut into pieces, the
 * output is the same as for the whole text.
 */

#include <stdlib.h>

#include <jansson.h>

#include "tap.h"
#include "hoop_mask.h"
#include "hoop_mask_unescape.h"


typedef struct {
    const char  *in;
    const char  *want;          /* with every detector, strategy redact */
} mask_case_t;


static const mask_case_t  cases[] = {

    /* email */
    { "mail alice.smith+tag@example.co.uk today",
      "mail [EMAIL] today" },
    { "{\"email\":\"bob@corp.example\"}", "{\"email\":\"[EMAIL]\"}" },
    { "a@b.c user@localhost @handle x@-bad.com .@x.org",
      "a@b.c user@localhost @handle x@-bad.com .@x.org" },
    { "end: carol@example.org.", "end: [EMAIL]." },
    { "contact ada@example.com--billing or bob@example.org- now; "
      "cy@ex.com-2024 dee@example.com-foo.org x@ex-.com",
      "contact [EMAIL]--billing or [EMAIL]- now; "
      "[EMAIL]-2024 [EMAIL] x@ex-.com" },
    { "<img src=icon@2x.png> logo@3X.webp ann@2x.io.example a@4x.co.uk",
      "<img src=icon@2x.png> logo@3X.webp [EMAIL] [EMAIL]" },

    /* credit cards: Luhn, issuer prefix and length, grouping */
    { "visa 4111 1111 1111 1111, mc 5500-0000-0000-0004",
      "visa [CREDIT_CARD], mc [CREDIT_CARD]" },
    { "amex 378282246310005 and 3782 822463 10005",
      "amex [CREDIT_CARD] and [CREDIT_CARD]" },
    { "bad luhn 4111 1111 1111 1112; no issuer 9111111111111111",
      "bad luhn 4111 1111 1111 1112; no issuer 9111111111111111" },
    { "long 41111111111111111111 x4111111111111111 4111111111111111.5",
      "long 41111111111111111111 x4111111111111111 4111111111111111.5" },
    { "order 1234 4111 1111 1111 1111", "order 1234 [CREDIT_CARD]" },

    /* re-separated: the same separator each time, a space maybe twice */
    { "4111  1111  1111  1111 4111+1111+1111+1111 4111.1111.1111.1111",
      "[CREDIT_CARD] [CREDIT_CARD] [CREDIT_CARD]" },
    { "4111/1111/1111/1111 4111_1111_1111_1111 4111 1111  1111 1111",
      "[CREDIT_CARD] [CREDIT_CARD] 4111 1111  1111 1111" },
    { "2024.01.15 12.30.45 1234.5678 1234/5678 v1.2.3.4",
      "2024.01.15 12.30.45 1234.5678 1234/5678 v1.2.3.4" },

    /* numbers a parser reads as a card's: JSON, Python, Java floats */
    { "{\"a\":4.111111111111111e15,\"b\":4111111111111111.0,"
      "\"c\":41111111111111110e-1,\"d\":-4111111111111111,"
      "\"e\":4111111111111111E0,\"f\":0.4111111111111111e16}",
      "{\"a\":[CREDIT_CARD],\"b\":[CREDIT_CARD],\"c\":[CREDIT_CARD],"
      "\"d\":-[CREDIT_CARD],\"e\":[CREDIT_CARD],\"f\":[CREDIT_CARD]}" },
    { "1.4111111111111111e16 4.1111111111111115e15 1.5e3 -2.5e-3 "
      "4111111111111111e 12-4111111111111111 ORD-4111111111111111",
      "1.4111111111111111e16 4.1111111111111115e15 1.5e3 -2.5e-3 "
      "4111111111111111e 12-4111111111111111 ORD-4111111111111111" },

    /* IBAN: country length and mod-97 */
    { "pay DE89 3704 0044 0532 0130 00 now",
      "pay [IBAN] now" },
    { "GB29NWBK60161331926819;FR1420041010050500013M02606",
      "[IBAN];[IBAN]" },
    { "DE89 3704 0044 0532 0130 01 XX89370400440532013000",
      "DE89 3704 0044 0532 0130 01 XX89370400440532013000" },

    /* US SSN */
    { "ssn 078 05 1120. 078.05.1120 q=078+05+1120&x",
      "ssn [US_SSN]. [US_SSN] q=[US_SSN]&x" },
    { "100 10 1000 7 | 1 100 10 1000 9", "100 10 1000 7 | 1 100 10 1000 9" },
    { "4111+1111+1111+1111 078 05 1120 \":1",
      "[CREDIT_CARD] [US_SSN] \":1" },
    { "ssn 123-45-6789.", "ssn [US_SSN]." },
    { "000-12-3456 666-12-3456 923-45-6789 123-00-6789 123-45-0000",
      "000-12-3456 666-12-3456 923-45-6789 123-00-6789 123-45-0000" },

    { "ID-078-05-1120, ssn-078-05-1120- and 078-05-1120-x; not 12-078-05-1120",
      "ID-[US_SSN], ssn-[US_SSN]- and [US_SSN]-x; not 12-078-05-1120" },

    /* phone */
    { "call (415) 555-2671 or 415.555.2671 or 1-415-555-2671",
      "call [PHONE] or [PHONE] or [PHONE]" },
    { "uk +44 20 7946 0958, us +1 (415) 555-2671",
      "uk [PHONE], us [PHONE]" },
    { "db8::1 (415) 555-2671 and 1 (415) 555-2671, not 415 (555) 2671",
      "[IPV6] [PHONE] and [PHONE], not 415 (555) 2671" },
    { "415-155-2671 2024-01-15 12-34-56 v1 5551234567",
      "415-155-2671 2024-01-15 12-34-56 v1 5551234567" },

    /* IPv4 */
    { "from 10.0.0.1 to 192.168.1.254:8080", "from [IPV4] to [IPV4]:8080" },
    { "256.1.1.1 1.2.3 1.2.3.4.5 v1.2.3.4 01.2.3.4",
      "256.1.1.1 1.2.3 1.2.3.4.5 v1.2.3.4 01.2.3.4" },

    /* IPv6 */
    { "hosts 2001:db8::1, fe80::1ff:fe23:4567:890a and ::1",
      "hosts [IPV6], [IPV6] and [IPV6]" },
    { "mapped ::ffff:192.0.2.128 end", "mapped [IPV6] end" },
    { "at 12:30:45 std::vector 00:1a:2b:3c:4d:5e Bad::Bee",
      "at 12:30:45 std::vector 00:1a:2b:3c:4d:5e Bad::Bee" },

    /* AWS access key ids */
    { "key=AKIAIOSFODNN7EXAMPLE;tmp=ASIAY34FZKBOKMUTVV7A",
      "key=[AWS_KEY];tmp=[AWS_KEY]" },
    { "AKIAIOSFODNN7EXAMPL XAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLEX",
      "AKIAIOSFODNN7EXAMPL XAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLEX" },

    /* private keys, JWTs, bearer tokens */
    { "k: -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1x\n"
      "-----END RSA PRIVATE KEY-----\nnext",
      "k: [PRIVATE_KEY]\nnext" },
    { "{\"k\":\"-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY"
      "-----\\n\"}",
      "{\"k\":\"[PRIVATE_KEY]\\n\"}" },
    { "pgp -----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGX\n"
      "-----END PGP PRIVATE KEY BLOCK----- done",
      "pgp [PRIVATE_KEY] done" },
    { "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
      "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----" },

    /* private keys in base64 (Kubernetes secrets, kubeconfig, base64(1)) */
    /* w16 */
    {
      "k: LS0tLS1CRUdJTiBS\nU0EgUFJJVkFURSBL\nRVktLS0tLQpNSUlF\ncE"
      "FJQkFBS0NBUUVB\nMXhRbVowYnFrOFkz\naDJQcTlzN1ZuRDB1\nWHdSNXR"
      "MeitlLzRI\nNm1KcFFmSzJjVmcK\nTUlJRXBBSUJBQUtD\nQVFFQTF4UW1a"
      "MGJx\nazhZM2gyUHE5czdW\nbkQwdVh3UjV0THor\nZS80SDZtSnBRZksy\n"
      "Y1ZnCk1JSUVwQUlC\nQUFLQ0FRRUExeFFt\nWjBicWs4WTNoMlBx\nOXM3V"
      "m5EMHVYd1I1\ndEx6K2UvNEg2bUpw\nUWZLMmNWZwotLS0t\nLUVORCBSU0"
      "EgUFJJ\nVkFURSBLRVktLS0t\nLQo=\nnext: 1",
      "k: [PRIVATE_KEY]\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\nnext: 1" },
    /* yaml */
    {
      "tls.key: |\n  LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQp"
      "NSUlFcEFJQkFBS0NBUUVBMXhRbVowYnFr\n  OFkzaDJQcTlzN1ZuRDB1"
      "WHdSNXRMeitlLzRINm1KcFFmSzJjVmcKTUlJRXBBSUJBQUtDQVFFQTF4"
      "\n  UW1aMGJxazhZM2gyUHE5czdWbkQwdVh3UjV0THorZS80SDZtSnBRZ"
      "ksyY1ZnCk1JSUVwQUlCQUFL\n  Q0FRRUExeFFtWjBicWs4WTNoMlBxOX"
      "M3Vm5EMHVYd1I1dEx6K2UvNEg2bUpwUWZLMmNWZwotLS0t\n  LUVORCB"
      "SU0EgUFJJVkFURSBLRVktLS0tLQo=\nother: x",
      "tls.key: |\n  [PRIVATE_KEY]\n  \n  \n  \n  \nother: x" },
    /* xml */
    {
      "<key>\n\tLS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFc"
      "EFJQkFBS0NBUUVB\n\tMXhRbVowYnFrOFkzaDJQcTlzN1ZuRDB1WHdSNXR"
      "MeitlLzRINm1KcFFmSzJjVmcK\n\tTUlJRXBBSUJBQUtDQVFFQTF4UW1aM"
      "GJxazhZM2gyUHE5czdWbkQwdVh3UjV0THor\n\tZS80SDZtSnBRZksyY1Z"
      "nCk1JSUVwQUlCQUFLQ0FRRUExeFFtWjBicWs4WTNoMlBx\n\tOXM3Vm5EM"
      "HVYd1I1dEx6K2UvNEg2bUpwUWZLMmNWZwotLS0tLUVORCBSU0EgUFJJ\n"
      "\tVkFURSBLRVktLS0tLQo=\n</key>",
      "<key>\n\t[PRIVATE_KEY]\n\t\n\t\n\t\n\t\n\t\n</key>" },
    /* spaces */
    {
      "k=LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcEFJQk"
      "FBS0NBUUVBMXhRbVowYnFr OFkzaDJQcTlzN1ZuRDB1WHdSNXRMeitlL"
      "zRINm1KcFFmSzJjVmcKTUlJRXBBSUJBQUtDQVFFQTF4 UW1aMGJxazhZ"
      "M2gyUHE5czdWbkQwdVh3UjV0THorZS80SDZtSnBRZksyY1ZnCk1JSUVw"
      "QUlCQUFL Q0FRRUExeFFtWjBicWs4WTNoMlBxOXM3Vm5EMHVYd1I1dEx"
      "6K2UvNEg2bUpwUWZLMmNWZwotLS0t LUVORCBSU0EgUFJJVkFURSBLRV"
      "ktLS0tLQo= end",
      "k=[PRIVATE_KEY]     end" },
    /* js */
    {
      "k = \"LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcEF"
      "JQkFBS0NBUUVB\" +\n  \"MXhRbVowYnFrOFkzaDJQcTlzN1ZuRDB1WHdS"
      "NXRMeitlLzRINm1KcFFmSzJjVmcK\" +\n  \"TUlJRXBBSUJBQUtDQVFFQ"
      "TF4UW1aMGJxazhZM2gyUHE5czdWbkQwdVh3UjV0THor\" +\n  \"ZS80SD"
      "ZtSnBRZksyY1ZnCk1JSUVwQUlCQUFLQ0FRRUExeFFtWjBicWs4WTNoMl"
      "Bx\" +\n  \"OXM3Vm5EMHVYd1I1dEx6K2UvNEg2bUpwUWZLMmNWZwotLS0"
      "tLUVORCBSU0EgUFJJ\" +\n  \"VkFURSBLRVktLS0tLQo=\";",
      "k = \"[PRIVATE_KEY]\" +\n  \"\" +\n  \"\" +\n  \"\" +\n"
      "  \"\" +\n  \"\";" },
    /* json_last */
    {
      "{\"k\":\"LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcE"
      "FJQkFBS0NBUUVB\\nMXhRbVowYnFrOFkzaDJQcTlzN1ZuRDB1WHdSNXRM"
      "eitlLzRINm1KcFFmSzJjVmcK\\nTUlJRXBBSUJBQUtDQVFFQTF4UW1aMG"
      "JxazhZM2gyUHE5czdWbkQwdVh3UjV0THor\\nZS80SDZtSnBRZksyY1Zn"
      "Ck1JSUVwQUlCQUFLQ0FRRUExeFFtWjBicWs4WTNoMlBx\\nOXM3Vm5EMH"
      "VYd1I1dEx6K2UvNEg2bUpwUWZLMmNWZwotLS0tLUVORCBSU0EgUFJJ\\n"
      "VkFURSBLRVktLS0tLQo=\",\"n\":1}",
      "{\"k\":\"[PRIVATE_KEY]\\n\\n\\n\\n\\n\",\"n\":1}" },
    /* over */
    {
      "key: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcEF"
      "JQkFBS0NBUUVBMXhRbVowYnFrOFkzaDJQcTlzN1ZuRDB1WHdSNXRMeit"
      "lLzRINm1KcFFmSzJjVmcKTUlJRXBBSUJBQUtDQVFFQTF4UW1aMGJxazh"
      "ZM2gyUHE5czdWbkQwdVh3UjV0THorZS80SDZtSnBRZksyY1ZnCk1JSUV"
      "wQUlCQUFLQ0FRRUExeFFtWjBicWs4WTNoMlBxOXM3Vm5EMHVYd1I1dEx"
      "6K2UvNEg2bUpwUWZLMmNWZwotLS0tLUVORCBSU0EgUFJJVkFURSBLRVk"
      "tLS0tLQo=\nabcdef0123\nsummary\n2024\nstatus: ok",
      "key: [PRIVATE_KEY]\nabcdef0123\nsummary\n2024\nstatus: ok" },
    {
      "  client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tL"
      "QpNSUlFcEFJQkFBS0NBUUVBMXgKLS0tLS1FTkQgUlNBIFBSSVZBVEUgS0VZL"
      "S0tLS0K\n    token: abc\n",
      "  client-key-data: [PRIVATE_KEY]\n    token: abc\n" },
    {
      "{\"k\":\"LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSU"
      "JrZzRMVldNOW51d05TazN5\\nQnl4WnBZUlRCblZKazVvS0tQd0RRYUMyYVlv"
      "QW9HQ0NxR1NNNDkKTUhjQ0FRRUVJQmtnNExWV005\\nbnV3TlNrM3lCeXhacF"
      "lSVEJuVkprNW9LS1B3RFFhQzJhWW9Bb0dDQ3FHU000OQotLS0tLUVORCBF\\n"
      "QyBQUklWQVRFIEtFWS0tLS0tCg==\\n\",\"n\":1}",
      "{\"k\":\"[PRIVATE_KEY]\\n\\n\\n\\n\",\"n\":1}" },
    {
      "k: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcEFJQkFBS"
      "0NBUUVBMXgKLS0tLS1FTkQgUlNBIFBSSVZBVEUgS0VZLS0tLS0K next",
      "k: [PRIVATE_KEY] next" },
    {
      "{\"tls.key\":\"LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlF"
      "cEFJQkFBS0NBUUVBMXgKLS0tLS1FTkQgUlNBIFBSSVZBVEUgS0VZLS0tLS0K"
      "\"}",
      "{\"tls.key\":\"[PRIVATE_KEY]\"}" },
    {
      "d=eC0tLS0tQkVHSU4gUlNBIFBSSVZBVEUgS0VZLS0tLS0KTUlJRXBBSUJBQU"
      "tDQVFFQTF4Ci0tLS0tRU5EIFJTQSBQUklWQVRFIEtFWS0tLS0tCg==;",
      "d=eC0t[PRIVATE_KEY];" },
    {
      "d=eHktLS0tLUJFR0lOIFJTQSBQUklWQVRFIEtFWS0tLS0tCk1JSUVwQUlCQU"
      "FLQ0FRRUExeAotLS0tLUVORCBSU0EgUFJJVkFURSBLRVktLS0tLQo=;",
      "d=eHkt[PRIVATE_KEY];" },
    {
      "ssh LS0tLS1CRUdJTiBPUEVOU1NIIFBSSVZBVEUgS0VZLS0tLS0KYjNCbGJu"
      "TnphQzFyWlhrdGRqRUFBQUFBCi0tLS0tRU5EIE9QRU5TU0ggUFJJVkFURSBL"
      "RVktLS0tLQo=",
      "ssh [PRIVATE_KEY]" },
    {
      "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2UUlCQURBTkJna3Fo"
      "a2lHOXcwQkFRRUZB\nQVNDQktjd2dnU2pBZ0VBQW9JQkFRQzcKTUlJRXZRSUJ"
      "BREFOQmdrcWhraUc5dzBCQVFFRkFBU0NC\nS2N3Z2dTakFnRUFBb0lCQVFDNw"
      "pNSUlFdlFJQkFEQU5CZ2txaGtpRzl3MEJBUUVGQUFTQ0JLY3dn\nZ1NqQWdFQ"
      "UFvSUJBUUM3Ci0tLS0tRU5EIFBSSVZBVEUgS0VZLS0tLS0K\n end",
      "[PRIVATE_KEY]\n\n\n\n end" },
    {
      "crt LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQg"
      "Q0VSVElGSUNBVEUtLS0tLQo=",
      "crt LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQg"
      "Q0VSVElGSUNBVEUtLS0tLQo=" },
    {
      "LS0tLS0tLS0t LS0tLS1CRUdJTiBDRVJU",
      "LS0tLS0tLS0t LS0tLS1CRUdJTiBDRVJU" },
    { "t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnX-abc rest",
      "t=[JWT] rest" },
    { "eyJhbGciOi alone; xeyJhbGciOiJIUzI1NiJ9.eyJz",
      "eyJhbGciOi alone; xeyJhbGciOiJIUzI1NiJ9.eyJz" },
    { "Authorization: Bearer abcdefgh12345678/+=\r\nHost: x",
      "Authorization: Bearer [BEARER_TOKEN]\r\nHost: x" },
    { "bearer  eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln!",
      "bearer  [BEARER_TOKEN]!" },
    { "WWW-Authenticate: Bearer realm=\"x\", error=\"invalid_token\"",
      "WWW-Authenticate: Bearer realm=\"x\", error=\"invalid_token\"" },

    /* a comma ends a value: CSV, a record's text, a list */
    { "078-05-1120,1,4111111111111111,2,+1 202 555 0143,3,10.1.2.3,4",
      "[US_SSN],1,[CREDIT_CARD],2,[PHONE],3,[IPV4],4" },
    { "(1,078-05-1120,\"ada@example.com\")",
      "(1,[US_SSN],\"[EMAIL]\")" },
    { "(123-45-6789,1)", "([US_SSN],1)" },
    { "(415) 555-2671,2", "[PHONE],2" },

    /* prose and amounts are not values */
    { "the ring bearer returned. a bearer well-known-for-it",
      "the ring bearer returned. a bearer well-known-for-it" },
    { "Bearer abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq",
      "Bearer [BEARER_TOKEN]" },
    { "total +25000000.00 due, +1.202.555.0143 to call",
      "total +25000000.00 due, [PHONE] to call" },

    /* nesting: the leftmost value wins, failed candidates consume nothing */
    { "4111111111111111@example.com", "[EMAIL]" },
    { "10.0.0.1@example.com", "[EMAIL]" },
    { "", "" },
};


static hoop_mask_conf_t
conf_all(hoop_mask_strategy_t strategy)
{
    int               i;
    hoop_mask_conf_t  conf;

    memset(&conf, 0, sizeof(conf));
    conf.enabled = HOOP_MASK_ALL;

    for (i = 0; i < HOOP_MASK_NTYPES; i++) {
        conf.strategy[i] = hoop_mask_strategy_supported(i, strategy)
                           ? strategy : HOOP_MASK_REDACT;
    }

    memcpy(conf.key, "test-key", 8);
    conf.key_len = 8;

    return conf;
}


typedef struct {
    unsigned char  *p;
    size_t          len;
    size_t          size;
} out_t;


static int
collect(void *data, const unsigned char *p, size_t n)
{
    out_t  *o = data;

    if (o->len + n > o->size) {
        o->size = (o->len + n) * 2;
        o->p = realloc(o->p, o->size);

        if (o->p == NULL) {
            return -1;
        }
    }

    memcpy(o->p + o->len, p, n);
    o->len += n;

    return 0;
}


/* whether mask_pieces() reads through escapes */
static int  unescaping;


/* masks text fed in pieces of the given sizes (cycled; 0: whole) */
static out_t
mask_pieces(const hoop_mask_conf_t *conf, const char *text, size_t len,
    const size_t *sizes, size_t nsizes, uint64_t *total)
{
    out_t                   o = { malloc(1), 0, 1 };
    size_t                  off, n, k;
    hoop_mask_stream_t     *s;
    hoop_mask_unescaped_t  *u;

    s = malloc(sizeof(hoop_mask_stream_t));
    u = malloc(sizeof(hoop_mask_unescaped_t));
    hoop_mask_stream_init(s, conf, collect, &o);

    if (unescaping) {
        hoop_mask_stream_unescape(s, u);
    }

    for (off = 0, k = 0; off < len; off += n, k++) {
        n = (nsizes == 0) ? len : sizes[k % nsizes];
        n = (n > len - off) ? len - off : n;

        if (hoop_mask_stream_feed(s, (const unsigned char *) text + off, n)) {
            break;
        }
    }

    hoop_mask_stream_finish(s);
    *total = hoop_mask_stream_total(s);
    free(s);
    free(u);

    return o;
}


/* a case's text as a one-line test name */
static const char *
printable(const char *in)
{
    size_t       i;
    static char  name[41];

    for (i = 0; i < 40 && in[i]; i++) {
        name[i] = (in[i] < ' ') ? ' ' : in[i];
    }

    name[i] = '\0';

    return name;
}


static void
test_cases(void)
{
    size_t            i, cut, n, got_len, sizes[2];
    uint64_t          total;
    unsigned char     out[4096];
    out_t             o = { NULL, 0, 0 };
    hoop_mask_conf_t  conf;

    conf = conf_all(HOOP_MASK_REDACT);

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (strcmp(cases[i].in, cases[i].want) != 0
            && !hoop_mask_could_match(&conf,
                                      (const unsigned char *) cases[i].in,
                                      strlen(cases[i].in)))
        {
            ok(0, "could_match misses \"%s\"", printable(cases[i].in));
        }

        n = strlen(cases[i].in);
        got_len = hoop_mask_string(&conf, (const unsigned char *) cases[i].in,
                                   n, out, sizeof(out), NULL);

        is_mem(out, got_len, cases[i].want, strlen(cases[i].want),
               "masks \"%s\"", printable(cases[i].in));

        /* every cut into two pieces gives the same text */
        for (cut = 1; cut < n; cut++) {
            sizes[0] = cut;
            sizes[1] = n;
            o = mask_pieces(&conf, cases[i].in, n, sizes, 2, &total);

            if (o.len != got_len || memcmp(o.p, out, got_len) != 0) {
                break;
            }

            free(o.p);
        }

        if (!ok(cut >= n, "case %zu: same output cut anywhere", i)) {
            printf("#   cut at %zu: \"%.*s\"\n", cut, (int) o.len, o.p);
            free(o.p);
        }

        /* one byte at a time */
        sizes[0] = 1;
        o = mask_pieces(&conf, cases[i].in, n, sizes, 1, &total);
        is_mem(o.p, o.len, out, got_len, "case %zu: byte by byte", i);
        free(o.p);
    }
}


static void
expect(const hoop_mask_conf_t *conf, const char *in, const char *want,
    const char *name)
{
    size_t         n;
    unsigned char  out[1024];

    n = hoop_mask_string(conf, (const unsigned char *) in, strlen(in), out,
                         sizeof(out), NULL);

    is_mem(out, n, want, strlen(want), "%s", name);
}


static void
test_strategies(void)
{
    size_t            n1, n2;
    unsigned char     a[256], b[256];
    hoop_mask_conf_t  conf;

    conf = conf_all(HOOP_MASK_PARTIAL);

    expect(&conf, "alice@example.com", "a***@example.com", "partial email");
    expect(&conf, "4111 1111 1111 1111", "**** **** **** 1111",
           "partial card keeps the last four and the grouping");
    expect(&conf, "123-45-6789", "***-**-6789", "partial ssn");
    expect(&conf, "DE89 3704 0044 0532 0130 00", "DE89 **** **** **** **30 00",
           "partial iban");
    expect(&conf, "(415) 555-2671", "(***) ***-2671", "partial phone");
    expect(&conf, "192.168.1.254", "192.168.*", "partial ipv4");
    expect(&conf, "2001:db8::1", "2001:db8:*", "partial ipv6");
    expect(&conf, "AKIAIOSFODNN7EXAMPLE", "AKIA************MPLE",
           "partial aws key");
    expect(&conf, "Bearer abcdefgh12345678", "Bearer [BEARER_TOKEN]",
           "credentials are redacted whatever the strategy");

    conf = conf_all(HOOP_MASK_HASH);

    n1 = hoop_mask_string(&conf, (const unsigned char *) "4111-1111-1111-1111",
                          19, a, sizeof(a), NULL);
    n2 = hoop_mask_string(&conf, (const unsigned char *) "4111 1111 1111 1111",
                          19, b, sizeof(b), NULL);

    ok(n1 == 30 && memcmp(a, "[CREDIT_CARD:", 13) == 0 && a[29] == ']',
       "hash: [CREDIT_CARD:<16 hex>]");
    is_mem(a, n1, b, n2, "hash: one value, one digest whatever its spelling");

    n1 = hoop_mask_string(&conf, (const unsigned char *) "Bob@Example.com",
                          15, a, sizeof(a), NULL);
    n2 = hoop_mask_string(&conf, (const unsigned char *) "bob@example.com",
                          15, b, sizeof(b), NULL);
    is_mem(a, n1, b, n2, "hash: addresses compare without case");

    memcpy(conf.key, "other-key", 9);
    conf.key_len = 9;
    n1 = hoop_mask_string(&conf, (const unsigned char *) "bob@example.com",
                          15, a, sizeof(a), NULL);
    ok(n1 == n2 && memcmp(a, b, n1) != 0, "hash: the key changes the digest");

    ok(!hoop_mask_strategy_supported(HOOP_MASK_JWT, HOOP_MASK_HASH)
       && !hoop_mask_strategy_supported(HOOP_MASK_PRIVATE_KEY,
                                        HOOP_MASK_PARTIAL)
       && hoop_mask_strategy_supported(HOOP_MASK_EMAIL, HOOP_MASK_HASH),
       "credentials support redact only");
}


static void
test_config_names(void)
{
    is_int(hoop_mask_type_parse("credit_card", 11), HOOP_MASK_CREDIT_CARD,
           "type names parse");
    is_int(hoop_mask_type_parse("credit", 6), -1, "prefixes do not");
    is_int(hoop_mask_strategy_parse("hash", 4), HOOP_MASK_HASH,
           "strategy names parse");
    ok(strcmp(hoop_mask_type_name(HOOP_MASK_US_SSN), "us_ssn") == 0,
       "names round-trip");
}


static void
test_selection(void)
{
    hoop_mask_conf_t  conf;

    conf = conf_all(HOOP_MASK_REDACT);
    conf.enabled = 1u << HOOP_MASK_EMAIL;

    expect(&conf, "bob@example.com 4111111111111111 10.0.0.1",
           "[EMAIL] 4111111111111111 10.0.0.1",
           "only the configured detectors mask");
}


/* random text dense in anchors: pieces never change the output */
static void
test_random_pieces(void)
{
    int               k, bad;
    char              text[400];
    size_t            i, n, sizes[2];
    uint64_t          total;
    out_t             whole, pieces;
    hoop_mask_conf_t  conf;

    static const char  *atoms[] = {
        "0", "1", "4", "5", "9", "12", "255", "4111", " ", "-", ".", "@",
        ":", "::", "(", ")", "+", "e", "ey", "eyJ", "A", "AKIA", "B", "Bearer ",
        "DE", "89", "x", "com", ",", "\n", "-----", "BEGIN ", "PRIVATE KEY",
        "END ", "_", "a.b", "@ex.com", "example", "ff", "db8",
        "\\u0040", "%40", "&#64;", "&#x2d", "\\", "%", "&", "&#", "\\u00",
        "%2", ";", "\\n", "&commat;", "%25",
    };

    conf = conf_all(HOOP_MASK_PARTIAL);
    srand(11);
    bad = 0;

    for (k = 0; k < 6000 && !bad; k++) {
        unescaping = k & 1;
        n = 0;

        while (n < 300) {
            i = (size_t) rand() % (sizeof(atoms) / sizeof(atoms[0]));
            memcpy(text + n, atoms[i], strlen(atoms[i]));
            n += strlen(atoms[i]);
        }

        whole = mask_pieces(&conf, text, n, NULL, 0, &total);
        sizes[0] = 1 + (size_t) rand() % 40;
        sizes[1] = 1 + (size_t) rand() % 40;
        pieces = mask_pieces(&conf, text, n, sizes, 2, &total);

        if (pieces.len != whole.len || memcmp(pieces.p, whole.p, whole.len)) {
            bad = 1;
            printf("# sizes %zu %zu\n", sizes[0], sizes[1]);
            printf("# input: %.*s\n# whole: %.*s\n# piece: %.*s\n",
                   (int) n, text, (int) whole.len, whole.p, (int) pieces.len,
                   pieces.p);
        }

        free(whole.p);
        free(pieces.p);
    }

    unescaping = 0;
    ok(!bad, "6000 random anchor-dense texts, half read through escapes:"
       " pieces give the same output");
}


/* text of any length: values across window edges, long tokens swallowed */
static void
test_long_text(void)
{
    char             *text, *p;
    size_t            i, len, planted, sizes[3] = { 7, 4093, 65536 };
    uint64_t          total;
    out_t             whole, pieces;
    hoop_mask_conf_t  conf;

    static const char  *values[] = {
        "carol@example.org", "4111 1111 1111 1111", "DE89370400440532013000",
        "123-45-6789", "(415) 555-2671", "10.1.2.3", "2001:db8::7",
        "AKIAIOSFODNN7EXAMPLE", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
    };

    conf = conf_all(HOOP_MASK_REDACT);
    len = 1 << 20;
    text = malloc(len + 64);
    p = text;
    planted = 0;

    srand(7);

    while ((size_t) (p - text) < len - 200) {
        i = (size_t) rand() % 40;

        if (i < 9) {
            p += sprintf(p, " %s,", values[i]);
            planted++;

        } else {
            p += sprintf(p, " {\"id\":%d,\"n\":\"item %d\"}", rand() % 100000,
                         rand() % 1000);
        }
    }

    len = (size_t) (p - text);

    whole = mask_pieces(&conf, text, len, NULL, 0, &total);
    is_int(total, planted, "1 MiB: every planted value masked (%zu)",
           planted);

    pieces = mask_pieces(&conf, text, len, sizes, 3, &total);
    is_mem(pieces.p, pieces.len, whole.p, whole.len,
           "1 MiB in pieces of 7, 4093 and 65536 bytes: same output");

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        ok(memmem(whole.p, whole.len, values[i], strlen(values[i])) == NULL,
           "no %s left in the output", values[i]);
    }

    free(whole.p);
    free(pieces.p);

    /* a private key far longer than any window is swallowed whole */
    p = text;
    p += sprintf(p, "-----BEGIN PRIVATE KEY-----\n");

    for (i = 0; i < 600; i++) {
        p += sprintf(p, "%s\n",
                     "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7");
    }

    p += sprintf(p, "-----END PRIVATE KEY-----\ntail 10.0.0.9");
    len = (size_t) (p - text);

    pieces = mask_pieces(&conf, text, len, sizes, 3, &total);
    is_mem(pieces.p, pieces.len, "[PRIVATE_KEY]\ntail [IPV4]", 25,
           "a 31 KB key block: one replacement, text after it masked");
    free(pieces.p);
    free(text);
}


/* the decoded text and where each byte of it was spelled */
static void
test_unescape_map(void)
{
    size_t          n, used;
    uint16_t        raw[64];
    unsigned char   out[64];
    static const uint16_t  map[] = { 0, 1, 7, 8 };

    n = hoop_mask_unescape_rounds((const unsigned char *) "a\\u0040b", 8, 1,
                                  2, 0, out, raw, &used);
    is_mem(out, n, "a@b", 3, "\\u0040 is '@'");
    ok(memcmp(raw, map, sizeof(map)) == 0 && used == 8,
       "each decoded byte knows where its spelling starts");

    n = hoop_mask_unescape_rounds((const unsigned char *) "%2540", 5, 1, 1, 0,
                                  out, raw, &used);
    is_mem(out, n, "%40", 3, "one round: %2540 is %40");
    n = hoop_mask_unescape_rounds((const unsigned char *) "%2540", 5, 1, 2, 0,
                                  out, raw, &used);
    is_mem(out, n, "@", 1, "two rounds: '@'");
    ok(raw[0] == 0 && raw[1] == 5, "spelled by all five bytes");

    n = hoop_mask_unescape_rounds((const unsigned char *)
                                  "x&#64;y&#x40;z&commat;w&#0064", 29, 1, 2, 0,
                                  out, raw, &used);
    is_mem(out, n, "x@y@z@w@", 8, "HTML references, ';' or not");

    n = hoop_mask_unescape_rounds((const unsigned char *) "ab\\u00", 6, 0, 2, 0,
                                  out, raw, &used);
    ok(n == 2 && used == 2, "an escape cut by the end waits for the rest");
    n = hoop_mask_unescape_rounds((const unsigned char *) "ab&#64", 6, 0, 2, 0,
                                  out, raw, &used);
    ok(n == 2 && used == 2, "so does a reference more digits may follow");
    n = hoop_mask_unescape_rounds((const unsigned char *) "ab\\u00", 6, 1, 2, 0,
                                  out, raw, &used);
    is_mem(out, n, "ab\\u00", 6, "at the end of the text it is text");

    n = hoop_mask_unescape_rounds((const unsigned char *)
                                  "50% off &amp; more \\q &nope; %zz", 32, 1,
                                  2, 0, out, raw, &used);
    is_mem(out, n, "50% off & more \\q &nope; %zz", 28,
           "what is not an escape stays as it is");

    n = hoop_mask_unescape_rounds((const unsigned char *) "\\u00e9\\n", 8, 1,
                                  2, 0, out, raw, &used);
    ok(n == 2 && out[0] == 0x80 && out[1] == '\n',
       "past ASCII one byte 0x80; \\n a newline");

    /* windows-1251: a no-break space, en dashes, a soft hyphen */
    n = hoop_mask_unescape_rounds((const unsigned char *)
                                  "4111\xa0" "1111 078\x96" "05\x97"
                                  "1120 a\xad" "b \xe9&#64;", 32, 1, 2,
                                  HOOP_MASK_UNESCAPE_SINGLE_BYTE, out, raw,
                                  &used);
    is_mem(out, n, "4111 1111 078-05-1120 ab \xe9@", 27,
           "single-byte: the charset's spaces and dashes, escapes too");
    ok(raw[22] == 22 && raw[23] == 24 && used == 32,
       "a soft hyphen read as nothing keeps the map");
    n = hoop_mask_unescape_rounds((const unsigned char *) "\xe2\x80\x8b" "1",
                                  4, 1, 2, HOOP_MASK_UNESCAPE_SINGLE_BYTE,
                                  out, raw, &used);
    is_mem(out, n, "\xe2\x80\x8b" "1", 4, "and no UTF-8 is read in it");
    n = hoop_mask_unescape_rounds((const unsigned char *) "1\x9a" "2\xa0" "3",
                                  5, 1, 2, HOOP_MASK_UNESCAPE_SINGLE_BYTE
                                           | HOOP_MASK_UNESCAPE_KOI8,
                                  out, raw, &used);
    is_mem(out, n, "1 2\xa0" "3", 5, "KOI8: its no-break space is 0x9a");
    n = hoop_mask_unescape_rounds((const unsigned char *) "1\x80\x81" "2\\",
                                  5, 1, 2, HOOP_MASK_UNESCAPE_SINGLE_BYTE,
                                  out, raw, &used);
    is_mem(out, n, "1\x80\x81" "2\\", 5,
           "single-byte: bytes the decoder uses for itself are text");
}


static const mask_case_t  escaped_cases[] = {
    { "{\"e\":\"ada\\u0040example.com\"}", "{\"e\":\"[EMAIL]\"}" },
    { "{\"e\":\"\\nada@example.com\"}", "{\"e\":\"\\n[EMAIL]\"}" },
    { "{\"e\":\"x\\\"ada@example.com\\\"\"}",
      "{\"e\":\"x\\\"[EMAIL]\\\"\"}" },
    { "mailto:ada%40example.com&x=1", "mailto:[EMAIL]&x=1" },
    { "<a>ada&#64;example.com</a>", "<a>[EMAIL]</a>" },
    { "<a>ada&#64example.com, bo&#X40;x.org</a>", "<a>[EMAIL], [EMAIL]</a>" },
    { "ada&commat;example&period;com", "[EMAIL]" },
    { "ssn 078&#45;05&#45;1120!", "ssn [US_SSN]!" },
    { "card 4111\\u00201111\\u00201111\\u00201111.", "card [CREDIT_CARD]." },
    { "tel=%2B1%20202%20555%200143&", "tel=[PHONE]&" },
    { "{\"u\":\"https://x/?e=ada%2540example.com\"}",
      "{\"u\":\"https://x/?e=[EMAIL]\"}" },
    { "ada\\u0025\\u0034\\u0030example.com", "[EMAIL]" },
    { "{\"k\":\"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0B\\n"
      "-----END PRIVATE KEY-----\\n\",\"n\":1}",
      "{\"k\":\"[PRIVATE_KEY]\\n\",\"n\":1}" },
    { "50% off &amp; \\q more &#; %", "50% off &amp; \\q more &#; %" },
    { "ip 10.1.2.3%2C4 and 10&#46;1&#46;2&#46;3", "ip [IPV4]%2C4 and [IPV4]" },
    { "{\"k\":\"-----BEGIN RSA PRIVATE KEY-----\",\"b\":\"10.1.2.3\"}",
      "{\"k\":\"[PRIVATE_KEY]\",\"b\":\"[IPV4]\"}" },
    { "<p>ada&#0000000064;example.com, bo&#x000000040;x.org</p>",
      "<p>[EMAIL], [EMAIL]</p>" },
    { "{\"b\":\"ada\\u00252540example.com\"}", "{\"b\":\"[EMAIL]\"}" },
    { "4111&#160;1111&#160;1111&#160;1111 and 4111&nbsp1111&nbsp1111&nbsp1111.",
      "[CREDIT_CARD] and [CREDIT_CARD]." },
    { "4111\xc2\xa0" "1111\xc2\xa0" "1111\xc2\xa0" "1111, "
      "4111%C2%A01111%c2%a01111%C2%A01111", "[CREDIT_CARD], [CREDIT_CARD]" },
    /* what a reader does not see does not separate what it does */
    { "4111\xe2\x80\x8b" "1111\xe2\x80\x8b" "1111\xe2\x80\x8b" "1111.",
      "[CREDIT_CARD]." },
    { "{\"s\":\"078\\u200b-05-1120\"}", "{\"s\":\"[US_SSN]\"}" },
    { "ada&#8203;@example.com, bo&#xFEFF;b@x.org", "[EMAIL], [EMAIL]" },
    { "ada&shy;@example.com, ada&shy@example.org, 4111&ZeroWidthSpace;1111"
      "&zwj;1111&NoBreak;1111", "[EMAIL], [EMAIL], [CREDIT_CARD]" },
    { "4111%E2%80%8B1111%e2%80%8d1111%E2%81%A0" "1111",
      "[CREDIT_CARD]" },
    { "ada\xc2\xad@example.com \xef\xbb\xbf" "078-05-1120",
      "[EMAIL] \xef\xbb\xbf[US_SSN]" },
    { "4111\xe2\x80\x87" "1111\xe2\x80\xaf" "1111 1111", "[CREDIT_CARD]" },
    /* the rest of what a reader does not see, and look-alikes */
    { "4111\xe2\x80\x8e" "1111\xe2\x81\xa6" "1111\xf3\xa0\x80\xa0" "1111",
      "[CREDIT_CARD]" },
    { "{\"c\":\"4111\\udb40\\udc20" "1111\\u200e1111\\u2062" "1111\"}",
      "{\"c\":\"[CREDIT_CARD]\"}" },
    { "4111&lrm;1111&#x2063;1111&#917536;1111 ada&rlm;@example.com",
      "[CREDIT_CARD] [EMAIL]" },
    { "4111\x1b(B1111\x1b[0m1111\x1b[1;31m1111 078\x1b]0;t\x07-05-1120",
      "[CREDIT_CARD] [US_SSN]" },
    { "078\xe2\x80\x93" "05\xe2\x88\x92" "1120, 078&minus;05&ndash;1120",
      "[US_SSN], [US_SSN]" },
    { "4111\xe2\x80\x89" "1111&thinsp;1111\xe3\x80\x80" "1111",
      "[CREDIT_CARD]" },
    { "caf\xc3\xa9 \xe2\x80\x94 ok \xef\xbc\xa1 %E2%80%94 %C3",
      "caf\xc3\xa9 \xe2\x80\x94 ok \xef\xbc\xa1 %E2%80%94 %C3" },
};


/* escaped spellings: masked whole, the same however the text is cut */
static void
test_unescape_stream(void)
{
    size_t            i, cut, n, sizes[2];
    uint64_t          total;
    out_t             whole, o;
    hoop_mask_conf_t  conf;

    conf = conf_all(HOOP_MASK_REDACT);
    unescaping = 1;

    for (i = 0; i < sizeof(escaped_cases) / sizeof(escaped_cases[0]); i++) {
        n = strlen(escaped_cases[i].in);
        whole = mask_pieces(&conf, escaped_cases[i].in, n, NULL, 0, &total);
        is_mem(whole.p, whole.len, escaped_cases[i].want,
               strlen(escaped_cases[i].want), "escaped: \"%s\"",
               printable(escaped_cases[i].in));

        for (cut = 1; cut < n; cut++) {
            sizes[0] = cut;
            sizes[1] = n;
            o = mask_pieces(&conf, escaped_cases[i].in, n, sizes, 2, &total);

            if (o.len != whole.len || memcmp(o.p, whole.p, whole.len) != 0) {
                printf("#   cut at %zu: \"%.*s\"\n", cut, (int) o.len, o.p);
                free(o.p);
                break;
            }

            free(o.p);
        }

        ok(cut >= n, "escaped case %zu: same output cut anywhere", i);
        free(whole.p);
    }

    unescaping = 0;
}


/* partial masks of decoded values keep a JSON document valid */
static void
test_unescape_json_valid(void)
{
    int               k, bad;
    char              text[2048];
    size_t            i, n;
    uint64_t          total;
    out_t             o;
    json_t           *doc;
    hoop_mask_conf_t  conf;

    static const char  *atoms[] = {
        "ada\\u0040example.com", "\\n", "\\t", "\\\"", "\\\\", " ",
        "078-05-1120", "078\\u002d05\\u002d1120", "(415)\\n555-2671",
        "+1\\t202\\t555\\t0143", "4111\\n1111\\n1111\\n1111", "%40", "&#64;",
        "x", "DE89\\t3704\\t0044\\t0532\\t0130\\t00", "10.0.0.1",
        "fe80::1", "\\u00e9", "@", "-", ".",
    };

    conf = conf_all(HOOP_MASK_PARTIAL);
    unescaping = 1;
    srand(5);
    bad = 0;

    for (k = 0; k < 2000 && !bad; k++) {
        n = (size_t) sprintf(text, "{\"v\":\"");

        while (n < 1500) {
            i = (size_t) rand() % (sizeof(atoms) / sizeof(atoms[0]));
            n += (size_t) sprintf(text + n, "%s", atoms[i]);
        }

        n += (size_t) sprintf(text + n, "\"}");

        o = mask_pieces(&conf, text, n, NULL, 0, &total);
        doc = json_loadb((const char *) o.p, o.len, 0, NULL);

        if (doc == NULL || total == 0) {
            bad = 1;
            printf("# invalid: %.*s\n", (int) o.len, o.p);
        }

        json_decref(doc);
        free(o.p);
    }

    ok(!bad, "2000 JSON strings of escaped values: still JSON, masked");
    unescaping = 0;
}


/* a key block longer than any limit is masked to its END line */
static void
test_long_key_block(void)
{
    char     *text, *p;
    size_t    i, len, sizes[2] = { 4093, 65536 };
    uint64_t  total;
    out_t     o;
    hoop_mask_conf_t  conf;

    conf = conf_all(HOOP_MASK_REDACT);
    text = malloc(200000);
    p = text + sprintf(text, "{\"key\":\"-----BEGIN RSA PRIVATE KEY-----\\n");

    for (i = 0; i < 2400; i++) {
        p += sprintf(p, "%s\\n",
                     "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7");
    }

    p += sprintf(p, "-----END RSA PRIVATE KEY-----\\n\",\"ip\":\"10.0.0.9\"}");
    len = (size_t) (p - text);

    for (unescaping = 0; unescaping < 2; unescaping++) {
        o = mask_pieces(&conf, text, len, sizes, 2, &total);
        is_mem(o.p, o.len,
               "{\"key\":\"[PRIVATE_KEY]\\n\",\"ip\":\"[IPV4]\"}", 39,
               "a %zu KB key block in JSON%s: masked to its end", len >> 10,
               unescaping ? ", read through escapes" : "");
        free(o.p);
    }

    unescaping = 0;
    free(text);
}


int
main(void)
{
    test_cases();
    test_strategies();
    test_config_names();
    test_selection();
    test_random_pieces();
    test_long_text();
    test_unescape_map();
    test_unescape_stream();
    test_unescape_json_valid();
    test_long_key_block();

    {
        hoop_mask_conf_t  only_email;

        memset(&only_email, 0, sizeof(only_email));
        only_email.enabled = 1u << HOOP_MASK_EMAIL;
        ok(!hoop_mask_could_match(&only_email,
                                  (const unsigned char *)
                                  "5d41402abc4b2a76b9719d911017c592", 32),
           "could_match: an md5 cannot hold an email");
        ok(hoop_mask_could_match(&only_email, (const unsigned char *) "a@b",
                                 3), "could_match: a '@' might");
    }

    return done_testing();
}
