/*
 * tnode.h — binary-trees' raw node (Computer Language Benchmarks Game
 * rules): two child pointers, 16 bytes, from peer_alloc, which the
 * including program defines first (peer.h, or w11_threads.c's ouro
 * peers).  W1's malloc-style peers and W11's raw trees build the same
 * trees with it; bench/onode.h is the ouro-object node.
 */
#ifndef BENCH_TNODE_H
#define BENCH_TNODE_H

typedef struct tnode {
    struct tnode *left, *right;
} tnode;

/* A tree of `depth` levels below the root, children first, then the
 * parent, as in ouro's version. */
static tnode *bottom_up(int depth)
{
    tnode *l = NULL, *r = NULL;
    if (depth > 0) {
        l = bottom_up(depth - 1);
        r = bottom_up(depth - 1);
    }
    tnode *n = peer_alloc(sizeof *n);
    if (__builtin_expect(!n, 0))
        bench_die("out of memory");
    n->left = l;
    n->right = r;
    return n;
}

/* binary-trees' check: the number of nodes. */
static long check(const tnode *n)
{
    long c = 1;
    if (n->left)
        c += check(n->left) + check(n->right);
    return c;
}

/* Drop a tree: a recursive free, or, for a collecting peer (Boehm),
 * nothing: its collector reclaims the tree. */
static void drop(tnode *n)
{
#if defined(PEER_COLLECTS)
    (void)n;
#else
    if (n->left) {
        drop(n->left);
        drop(n->right);
    }
    peer_free(n);
#endif
}

#endif
