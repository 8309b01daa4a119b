// Tables wider than their box say so: the side with more columns fades out, and the hint named by the
// box's data-scroll-hint attribute is shown while the table does not fit.
(function () {
  "use strict";

  function update(box) {
    var hidden = box.scrollWidth - box.clientWidth;
    var more = hidden > 1;
    box.classList.toggle("more-left", more && box.scrollLeft > 1);
    box.classList.toggle("more-right", more && box.scrollLeft < hidden - 1);
    var hint = box.dataset.scrollHint && document.getElementById(box.dataset.scrollHint);
    if (hint) hint.hidden = !more;
  }

  function watch(box) {
    if (box.dataset.scrollWatched) return;
    box.dataset.scrollWatched = "1";
    box.addEventListener("scroll", function () { update(box); }, {passive: true});
    if ("ResizeObserver" in window) {  // the window's width and the table's (rows come and go) alike
      var observer = new ResizeObserver(function () { update(box); });
      observer.observe(box);
      if (box.firstElementChild) observer.observe(box.firstElementChild);
    } else {
      window.addEventListener("resize", function () { update(box); });
    }
    update(box);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".scroll").forEach(watch);
  });
})();
