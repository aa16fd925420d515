/*
 * list.c — lists: a 40-byte object and a separate, growable item array.
 *
 * GROWTH.  Appending one item at a time must not copy the array each time.
 * Like CPython's list_resize, a list that outgrows its array asks for
 * about 1/8 more than it needs plus a little (rounded to 4 slots), which
 * makes n appends O(n) in total while wasting at most ~12% — much less
 * than doubling would — and gives sizeof the same steps as CPython (0, 4,
 * 8, 16, 24, 32, 40, 52, ... slots).  A list that shrinks below half its
 * array gives the rest back.
 *
 * Invariants: 0 <= n <= allocated; items[0..n) hold references (never
 * NULL); items == NULL iff allocated == 0.  Every mutation stores the new
 * state first and releases old items last, because releasing an item can
 * run a finalizer that looks at (or changes) this very list.
 */
#include "types.h"

#include <stdlib.h>

static int list_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    o_list *l = (o_list *)self;
    for (size_t i = 0; i < l->n; i++)
        if (visit(l->items[i], arg))
            return 1;
    return 0;
}

/* Detach the items, then release them: a finalizer run by a release sees
 * an empty list, never a half-cleared one. */
static void release_items(ouro_heap *h, ouro_object **items, size_t n)
{
    while (n > 0)
        ouro_decref(items[--n]);
    ouro_raw_free(h, items);
}

static void list_clear(ouro_heap *h, ouro_object *self)
{
    o_list *l = (o_list *)self;
    ouro_object **items = l->items;
    size_t n = l->n;
    l->items = NULL;
    l->n = l->allocated = 0;
    if (items)
        release_items(h, items, n);
}

static size_t list_size_of(const ouro_object *self)
{
    return sizeof(o_list) + ((const o_list *)self)->allocated * sizeof(ouro_object *);
}

ouro_type ouro__list_type = {
    .name = "list",
    .basic_size = sizeof(o_list),
    .flags = OURO_TYPE_GC | OURO__TYPE_FREELIST,
    .traverse = list_traverse,
    .clear = list_clear,
    .size_of = list_size_of,
};

/* Make room for `newsize` items (n is not changed), or, with shrink,
 * give back most of an array that is less than half used.  OOM leaves the
 * list as it was. */
static int list_resize(ouro_heap *h, o_list *l, size_t newsize, bool shrink)
{
    if (l->allocated >= newsize && (!shrink || newsize >= l->allocated / 2))
        return 0;
    size_t want = (newsize + (newsize >> 3) + 6) & ~(size_t)3;
    /* A big jump (extend with many items) gets just what it asked for. */
    if (newsize > l->n && newsize - l->n > want - newsize)
        want = (newsize + 3) & ~(size_t)3;
    if (newsize == 0)
        want = 0;
    if (want > ((size_t)1 << 40))
        return OURO_ENOMEM;
    if (want == 0) {
        ouro_raw_free(h, l->items);
        l->items = NULL;
        l->allocated = 0;
        return 0;
    }
    ouro_object **items = ouro_raw_realloc(h, l->items, want * sizeof *items);
    if (!items)
        return OURO_ENOMEM;
    l->items = items;
    l->allocated = want;
    return 0;
}

ouro_object *ouro_list_new(ouro_heap *h)
{
    if (!h)
        return NULL;
    return ouro__tnew(h, &ouro__list_type, sizeof(o_list));
}

ouro_object *ouro_list_from(ouro_heap *h, ouro_object *const *items, size_t n)
{
    if (!h)
        return NULL;
    if (n && !items)
        return ouro__fail(h, OURO_EINVAL);
    for (size_t i = 0; i < n; i++)
        if (!items[i] || ouro__check_same_heap(h, items[i], "ouro_list_from") < 0)
            return ouro__fail(h, OURO_EINVAL);
    ouro_object *o = ouro_list_new(h);
    if (!o)
        return NULL;
    o_list *l = (o_list *)o;
    if (n) {
        /* n slots rounded up to even, as CPython's [a, b, c] and
         * list(tuple) preallocate. */
        size_t cap = (n + 1) & ~(size_t)1;
        l->items = ouro_raw_alloc(h, cap * sizeof *l->items);
        if (!l->items) {
            ouro_decref(o);
            return ouro__fail(h, OURO_ENOMEM);
        }
        l->allocated = cap;
        for (size_t i = 0; i < n; i++) {
            ouro_incref(items[i]);
            l->items[i] = items[i];
        }
        l->n = n;
    }
    return o;
}

int ouro_list_check(const ouro_object *o) { return IS_LIST(o); }
size_t ouro_list_len(const ouro_object *o) { return IS_LIST(o) ? ((const o_list *)o)->n : 0; }
size_t ouro_list_allocated(const ouro_object *o) { return IS_LIST(o) ? ((const o_list *)o)->allocated : 0; }

static bool norm_index(ptrdiff_t *i, size_t n)
{
    if (*i < 0)
        *i += (ptrdiff_t)n;
    return *i >= 0 && (size_t)*i < n;
}

ouro_object *ouro_list_get(ouro_object *o, ptrdiff_t i)
{
    if (!IS_LIST(o))
        return o ? ouro__fail(HEAP(o), OURO_ETYPE) : NULL;
    o_list *l = (o_list *)o;
    if (!norm_index(&i, l->n))
        return ouro__fail(HEAP(o), OURO_ERANGE);
    return l->items[i];
}

int ouro_list_set(ouro_object *o, ptrdiff_t i, ouro_object *v)
{
    if (!IS_LIST(o))
        return OURO_ETYPE;
    if (!v || ouro__check_same_heap(HEAP(o), v, "ouro_list_set") < 0)
        return OURO_EINVAL;
    o_list *l = (o_list *)o;
    if (!norm_index(&i, l->n))
        return OURO_ERANGE;
    ouro_object *old = l->items[i];
    ouro_incref(v);
    l->items[i] = v;
    ouro_decref(old);
    return 0;
}

int ouro_list_insert(ouro_object *o, ptrdiff_t i, ouro_object *v)
{
    if (!IS_LIST(o))
        return OURO_ETYPE;
    if (!v || ouro__check_same_heap(HEAP(o), v, "ouro_list_insert") < 0)
        return OURO_EINVAL;
    o_list *l = (o_list *)o;
    if (i < 0) {
        i += (ptrdiff_t)l->n;
        if (i < 0)
            i = 0;
    }
    if ((size_t)i > l->n)
        i = (ptrdiff_t)l->n;
    int rc = list_resize(HEAP(o), l, l->n + 1, false);
    if (rc < 0)
        return rc;
    memmove(l->items + i + 1, l->items + i, (l->n - (size_t)i) * sizeof *l->items);
    ouro_incref(v);
    l->items[i] = v;
    l->n++;
    return 0;
}

int ouro_list_append(ouro_object *o, ouro_object *v)
{
    if (!IS_LIST(o))
        return OURO_ETYPE;
    /* The heap compare reads both objects' pool headers (each one load);
     * it is what stops a list from outliving an item of another heap. */
    if (!v || ouro__check_same_heap(HEAP(o), v, "ouro_list_append") < 0)
        return OURO_EINVAL;
    o_list *l = (o_list *)o;
    if (l->n < l->allocated) { /* the common case: no call */
        ouro_incref(v);
        l->items[l->n++] = v;
        return 0;
    }
    return ouro_list_insert(o, (ptrdiff_t)l->n, v);
}

/* Remove item i and return it (the caller owns the reference). */
static ouro_object *take_item(o_list *l, size_t i)
{
    ouro_object *v = l->items[i];
    memmove(l->items + i, l->items + i + 1, (l->n - i - 1) * sizeof *l->items);
    l->n--;
    /* Shrinking cannot fail in a way that matters: keep the old array. */
    (void)list_resize(HEAP(OURO_OBJ(l)), l, l->n, true);
    return v;
}

ouro_object *ouro_list_pop(ouro_object *o, ptrdiff_t i)
{
    if (!IS_LIST(o))
        return o ? ouro__fail(HEAP(o), OURO_ETYPE) : NULL;
    o_list *l = (o_list *)o;
    if (!norm_index(&i, l->n))
        return ouro__fail(HEAP(o), OURO_ERANGE);
    return take_item(l, (size_t)i);
}

int ouro_list_del(ouro_object *o, ptrdiff_t i)
{
    if (!IS_LIST(o))
        return OURO_ETYPE;
    o_list *l = (o_list *)o;
    if (!norm_index(&i, l->n))
        return OURO_ERANGE;
    ouro_decref(take_item(l, (size_t)i));
    return 0;
}

int ouro_list_clear(ouro_object *o)
{
    if (!IS_LIST(o))
        return OURO_ETYPE;
    list_clear(HEAP(o), o);
    return 0;
}

int ouro_list_extend(ouro_object *o, ouro_object *src)
{
    if (!IS_LIST(o))
        return OURO_ETYPE;
    if (!src)
        return OURO_EINVAL;
    o_list *l = (o_list *)o;
    ouro_heap *h = HEAP(o);
    /* A container of one heap holds only objects of that heap, so checking
     * the source checks its items. */
    if (src && ouro__check_same_heap(h, src, "ouro_list_extend") < 0)
        return OURO_EINVAL;
    if (IS_LIST(src) || IS_TUPLE(src)) {
        /* All or nothing: room first, then the copy (src may be l). */
        size_t k = IS_LIST(src) ? ((o_list *)src)->n : ((o_tuple *)src)->n;
        int rc = 0;
        if (!l->items && k) {
            /* An empty list takes exactly what it needs (rounded to even),
             * as CPython's list_preallocate_exact. */
            size_t cap = (k + 1) & ~(size_t)1;
            l->items = ouro_raw_alloc(h, cap * sizeof *l->items);
            if (!l->items)
                return OURO_ENOMEM;
            l->allocated = cap;
        } else {
            rc = list_resize(h, l, l->n + k, false);
        }
        if (rc < 0)
            return rc;
        ouro_object **from = IS_LIST(src) ? ((o_list *)src)->items : ((o_tuple *)src)->items;
        for (size_t i = 0; i < k; i++) {
            ouro_incref(from[i]);
            l->items[l->n + i] = from[i];
        }
        l->n += k;
        return 0;
    }
    ouro_object *it = ouro_iter(h, src);
    if (!it)
        return ouro_heap_last_error(h);
    /* A source that knows its length (range, dict, set, array, str) gets
     * the room at once: exact for an empty list, as CPython's length
     * hint makes list(range(n)) exactly n slots. */
    ptrdiff_t hint = ouro__is_iter(src) ? -1 : ouro_len(src);
    int rc = 0;
    if (hint > 0 && !l->items) {
        size_t cap = ((size_t)hint + 1) & ~(size_t)1;
        l->items = ouro_raw_alloc(h, cap * sizeof *l->items);
        if (!l->items) {
            ouro_decref(it);
            return OURO_ENOMEM;
        }
        l->allocated = cap;
    } else if (hint > 0 && (rc = list_resize(h, l, l->n + (size_t)hint, false)) < 0) {
        ouro_decref(it);
        return rc;
    }
    for (;;) {
        ouro_object *v = ouro_iter_next(it);
        if (!v) {
            rc = ouro_heap_last_error(h);
            break;
        }
        rc = ouro_list_append(o, v);
        ouro_decref(v);
        if (rc < 0)
            break;
    }
    ouro_decref(it);
    return rc;
}

ptrdiff_t ouro_list_index(ouro_object *o, ouro_object *v)
{
    if (!IS_LIST(o))
        return OURO_ETYPE;
    o_list *l = (o_list *)o;
    for (size_t i = 0; i < l->n; i++) {
        int eq = ouro_equal(l->items[i], v);
        if (eq < 0)
            return eq;
        if (eq)
            return (ptrdiff_t)i;
    }
    return OURO_ENOTFOUND;
}

int ouro_list_contains(ouro_object *o, ouro_object *v)
{
    ptrdiff_t i = ouro_list_index(o, v);
    if (i == OURO_ENOTFOUND)
        return 0;
    return i < 0 ? (int)i : 1;
}

int ouro_list_reverse(ouro_object *o)
{
    if (!IS_LIST(o))
        return OURO_ETYPE;
    o_list *l = (o_list *)o;
    for (size_t i = 0, j = l->n; i + 1 < j; i++, j--) {
        ouro_object *t = l->items[i];
        l->items[i] = l->items[j - 1];
        l->items[j - 1] = t;
    }
    return 0;
}

/* ------------------------------------------------------------ sort */

static int cmp_items(ouro_object *a, ouro_object *b)
{
    if (IS_STR(a))
        return ouro__str_cmp((o_str *)a, (o_str *)b);
    if (IS_BYTES(a)) {
        o_bytes *x = (o_bytes *)a, *y = (o_bytes *)b;
        size_t n = x->len < y->len ? x->len : y->len;
        int c = memcmp(x->data, y->data, n);
        return c ? c : (x->len < y->len ? -1 : x->len > y->len);
    }
    if (IS_LONG(a) && IS_LONG(b)) {
        int64_t x = ((o_int *)a)->v, y = ((o_int *)b)->v;
        return x < y ? -1 : x > y;
    }
    /* long double holds every int64 exactly on the platforms ouro targets
     * (x86-64, AArch64 Linux), so mixed comparisons are exact. */
    long double x = IS_LONG(a) ? (long double)((o_int *)a)->v : ((o_float *)a)->v;
    long double y = IS_LONG(b) ? (long double)((o_int *)b)->v : ((o_float *)b)->v;
    return x < y ? -1 : x > y;
}

/* Stable merge sort of v[0..n) using tmp[0..n). */
static void merge_sort(ouro_object **v, ouro_object **tmp, size_t n)
{
    if (n < 2)
        return;
    if (n <= 8) { /* insertion sort: stable, fast for short runs */
        for (size_t i = 1; i < n; i++) {
            ouro_object *x = v[i];
            size_t j = i;
            while (j > 0 && cmp_items(v[j - 1], x) > 0) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
        return;
    }
    size_t m = n / 2;
    merge_sort(v, tmp, m);
    merge_sort(v + m, tmp, n - m);
    if (cmp_items(v[m - 1], v[m]) <= 0)
        return;
    memcpy(tmp, v, m * sizeof *v);
    size_t i = 0, j = m, k = 0;
    while (i < m && j < n)
        v[k++] = cmp_items(v[j], tmp[i]) < 0 ? v[j++] : tmp[i++];
    while (i < m)
        v[k++] = tmp[i++];
}

int ouro_list_sort(ouro_object *o)
{
    if (!IS_LIST(o))
        return OURO_ETYPE;
    o_list *l = (o_list *)o;
    if (l->n < 2)
        return 0;
    /* The items must be mutually comparable: check before moving any. */
    ouro_object *first = l->items[0];
    int kind = IS_STR(first) ? 1 : IS_BYTES(first) ? 2 : (IS_LONG(first) || IS_FLOAT(first)) ? 3 : 0;
    if (!kind)
        return OURO_ETYPE;
    for (size_t i = 1; i < l->n; i++) {
        ouro_object *x = l->items[i];
        int k = IS_STR(x) ? 1 : IS_BYTES(x) ? 2 : (IS_LONG(x) || IS_FLOAT(x)) ? 3 : 0;
        if (k != kind)
            return OURO_ETYPE;
    }
    ouro_heap *h = HEAP(o);
    ouro_object **tmp = ouro_raw_alloc(h, (l->n / 2 + 1) * sizeof *tmp);
    if (!tmp)
        return OURO_ENOMEM;
    merge_sort(l->items, tmp, l->n);
    ouro_raw_free(h, tmp);
    return 0;
}

ouro_object *ouro_list_from_iter(ouro_heap *h, ouro_object *iterable)
{
    if (!h)
        return NULL;
    ouro_object *l = ouro_list_new(h);
    if (!l)
        return NULL;
    int rc = ouro_list_extend(l, iterable);
    if (rc < 0) {
        ouro_decref(l);
        return ouro__fail(h, rc);
    }
    return l;
}
