// Debian's libqrencode (apt libqrencode-dev): QRcode_encodeString and QRcode_free.
#include <qrencode.h>
