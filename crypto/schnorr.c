typedef int px__placeholder_schnorr;
