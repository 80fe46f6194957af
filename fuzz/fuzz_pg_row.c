/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: RowDescription, DataRow, ErrorResponse,
 * NotificationResponse, ParameterStatus and binary COPY data readers and
 * rewriters never read past what they were given nor write past the room
 * they were told of; what they write is a well-formed message.
 */

#include <stdlib.h>
#include <string.h>

#include "hoop_pg_msg.h"
#include "hoop_pg_row.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    size_t               i, n, cap;
    unsigned char       *msg, *out, digits[48];
    hoop_pg_field_t      fields[8];
    hoop_mask_conf_t     detect;
    hoop_pg_cell_plan_t  plan[8];

    if (size < 2) {
        return 0;
    }

    /* the first byte chooses the plan; the rest is the message */

    msg = malloc(size);
    if (msg == NULL) {
        return 0;
    }

    memcpy(msg, data + 1, size - 1);
    n = size - 1;

    memset(&detect, 0, sizeof(detect));
    detect.enabled = HOOP_MASK_ALL;
    detect.key_len = 16;

    for (i = 0; i < 8; i++) {
        plan[i].action = (uint8_t) ((data[0] >> (i % 4)) % 7);
        plan[i].strategy = (uint8_t) (i % 3);
    }

    (void) hoop_pg_rowdesc_parse(msg, n, fields, 8);
    (void) hoop_pg_binary_digits(20, msg, n, digits);
    (void) hoop_pg_binary_digits(1700, msg, n, digits);

    cap = hoop_pg_row_mask_bound(n, 8);
    out = malloc(cap);

    if (out != NULL) {
        for (i = 0; i <= 8; i++) {
            size_t  w;

            w = hoop_pg_row_mask(msg, n, plan, i, &detect, out, cap, NULL);

            if (w != 0 && w != (size_t) -1
                && (w > cap || hoop_pg_get32(out + 1) + 1 != w))
            {
                abort();
            }
        }

        n = hoop_pg_error_withhold(msg, size - 1, "withheld", out, cap);

        if (n != 0 && n != (size_t) -1
            && (n > cap || hoop_pg_get32(out + 1) + 1 != n))
        {
            abort();
        }

        n = hoop_pg_error_mask(msg, size - 1, &detect, out, cap, NULL);

        if (n != 0 && n != (size_t) -1
            && (n > cap || hoop_pg_get32(out + 1) + 1 != n))
        {
            abort();
        }

        /* as a NotificationResponse, ParameterStatus, RowDescription */

        for (i = 0; i < 3 && size > 6; i++) {
            msg[0] = "AST"[i];
            (void) hoop_pg_put32(msg + 1, (uint32_t) (size - 2));
            n = hoop_pg_names_withhold(msg, size - 1, out, cap);

            if (n != 0 && n != (size_t) -1
                && (n > cap || hoop_pg_get32(out + 1) + 1 != n))
            {
                abort();
            }

            n = hoop_pg_names_mask(msg, size - 1, &detect, out, cap, NULL);

            if (n != 0 && n != (size_t) -1
                && (n > cap || hoop_pg_get32(out + 1) + 1 != n
                    || out[0] != msg[0]))
            {
                abort();
            }
        }

        /* as a CopyData of a binary COPY */

        if (size > 6) {
            msg[0] = 'd';
            (void) hoop_pg_put32(msg + 1, (uint32_t) (size - 2));
            n = hoop_pg_copy_binary_mask(msg, size - 1, &detect, out, cap,
                                         NULL);

            if (n != 0 && n != (size_t) -1
                && (n > size - 1 || hoop_pg_get32(out + 1) + 1 != n))
            {
                abort();
            }
        }

        free(out);
    }

    free(msg);

    return 0;
}
