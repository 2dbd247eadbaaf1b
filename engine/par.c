typedef int px__placeholder_par; /* written next */
