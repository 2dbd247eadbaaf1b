typedef int px__placeholder_programs; /* written next */
