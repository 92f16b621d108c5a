/* SPDX-License-Identifier: MIT */
/* Keeps the support library non-empty before any helper exists. */
typedef int buddy_test_support_empty;
