/* SPDX-License-Identifier: MIT */
/* Linked with the whole of one layer and only the layers below it: a call
 * from that layer into one above it is an undefined symbol here, and the
 * build fails (tests/layers/meson.build). */
int main(void)
{
	return 0;
}
