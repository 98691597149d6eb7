"""Executive and technical reports (HTML and PDF), framework coverage data, and exports.

Everything is assembled from the database by small per-section functions (:mod:`.sections`);
a section whose data has not been recorded says so instead of failing, so a report can be run
on day one with only an inventory.
"""
