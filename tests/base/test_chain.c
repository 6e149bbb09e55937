/*
 * Unit tests for base/chain: appends across piece boundaries keep every
 * byte in order, splicing moves pieces without copying, the maximum is
 * enforced, and allocation failures leave the chain unchanged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/alloc.h"
#include "base/chain.h"

#include <stdlib.h>
#include <string.h>

static char *flatten(const struct base_chain *c)
{
    char *out = malloc(c->total + 1);
    size_t o = 0;
    for (size_t i = 0; i < c->n; i++) {
        memcpy(out + o, c->pieces[i].data, c->pieces[i].len);
        o += c->pieces[i].len;
    }
    out[o] = '\0';
    assert_int_equal(o, c->total);
    return out;
}

static void test_chain_appends_across_pieces_in_order(void **state)
{
    struct base_chain c;
    base_chain_init(&c, 8, 1000);
    char want[200] = "";
    for (int i = 0; i < 20; i++) {
        char word[16];
        int n = snprintf(word, sizeof(word), "w%d,", i);
        assert_int_equal(base_chain_append(&c, word, (size_t)n), 0);
        strcat(want, word);
    }
    assert_int_equal(base_chain_append(&c, "", 0), 0);
    char *got = flatten(&c);
    assert_string_equal(got, want);
    free(got);
    for (size_t i = 0; i + 1 < c.n; i++)
        assert_int_equal(c.pieces[i].len, 8); /* every piece but the last is full */
    base_chain_free(&c);
    assert_int_equal(c.total, 0);
}

static void test_chain_splice_moves_pieces(void **state)
{
    struct base_chain a, b;
    base_chain_init(&a, 16, 100);
    base_chain_init(&b, 16, 100);
    assert_int_equal(base_chain_append(&a, "hello ", 6), 0);
    assert_int_equal(base_chain_append(&b, "world, a longer tail", 20), 0);
    const char *moved = b.pieces[0].data;
    assert_int_equal(base_chain_splice(&a, &b), 0);
    assert_int_equal(b.total, 0);
    assert_int_equal(b.n, 0);
    assert_ptr_equal(a.pieces[1].data, moved); /* not copied */
    assert_int_equal(base_chain_append(&a, "!", 1), 0);
    char *got = flatten(&a);
    assert_string_equal(got, "hello world, a longer tail!");
    free(got);
    struct base_chain other;
    base_chain_init(&other, 32, 100);
    assert_int_equal(base_chain_append(&other, "x", 1), 0);
    assert_int_equal(base_chain_splice(&a, &other), BASE_ERR_INVALID); /* piece sizes differ */
    base_chain_free(&other);
    base_chain_free(&a);
    base_chain_free(&b);
}

static void test_chain_max_and_allocation_failure(void **state)
{
    struct base_chain c;
    base_chain_init(&c, 4, 10);
    assert_int_equal(base_chain_append(&c, "0123456789", 10), 0);
    assert_int_equal(base_chain_append(&c, "x", 1), BASE_ERR_TOO_BIG);
    assert_int_equal(c.total, 10);
    base_chain_free(&c);
    for (int n = 0; n < 6; n++) {
        base_chain_init(&c, 4, 100);
        assert_int_equal(base_chain_append(&c, "ab", 2), 0);
        base_alloc_fail_after(n);
        int rc = base_chain_append(&c, "cdefghijklmnop", 14);
        base_alloc_fail_after(-1);
        char *got = flatten(&c);
        if (rc == 0) {
            assert_string_equal(got, "abcdefghijklmnop");
        } else {
            assert_int_equal(rc, BASE_ERR_NOMEM);
            assert_string_equal(got, "ab"); /* unchanged */
        }
        free(got);
        base_chain_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_appends_across_pieces_in_order),
        cmocka_unit_test(test_chain_splice_moves_pieces),
        cmocka_unit_test(test_chain_max_and_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
