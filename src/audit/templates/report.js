// The HTML report's script, embedded by src/audit/html.rs.
// Clicking a time (a card's button, a timeline marker, a transcript line) plays from there.
// Opening `report.html#file-0-a3` (a link an officer can send) scrolls to that alert and cues
// the player without autoplay; `data-seeked-to` on the player records where the browser actually
// seeked, which the headless-browser test reads back.
function jump(el,play){var a=document.getElementById(el.dataset.player);
if(!a)return;a.currentTime=parseFloat(el.dataset.t);if(play!==false)a.play();}
document.addEventListener('click',function(e){var el=e.target.closest('[data-t]');if(el)jump(el);});
document.querySelectorAll('audio').forEach(function(a){a.addEventListener('seeked',function(){
a.dataset.seekedTo=a.currentTime.toFixed(2);});});
function fromHash(){var card=location.hash&&document.getElementById(location.hash.slice(1));
if(!card||!card.classList.contains('alert'))return;
document.querySelectorAll('.alert.focus').forEach(function(c){c.classList.remove('focus');});
card.classList.add('focus');card.scrollIntoView();var b=card.querySelector('[data-t]');if(b)jump(b,false);}
window.addEventListener('hashchange',fromHash);fromHash();
